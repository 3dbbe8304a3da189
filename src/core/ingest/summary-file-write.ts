/**
 * Writes one rank's read trace as a GPU Lens summary (format: summary-file.ts), the output of
 * `gpu-lens summarize`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { Frame, Profile } from '../model';
import type { RankFileRead } from './rank-files';
import {
  type Column,
  type StoredColumn,
  type SummaryMeta,
  type TableName,
  SUMMARY_HEADER_BYTES,
  SUMMARY_MAGIC,
  SUMMARY_VERSION,
  TABLES,
  leafColumns,
  padded,
} from './summary-file';
import { assertLittleEndian, chooseEncoding, encodeValues } from './summary-file-columns';

/** The summary of `read` (one rank's trace, read by rank-files.ts) as file bytes. */
export function encodeSummary(read: RankFileRead, traceName: string): Buffer {
  assertLittleEndian();
  const p = read.profile;
  if (p.rankAlignment)
    throw new Error('a merged rank folder cannot be summarized: summarize each rank');
  const strings = new Interner();
  const { frames, lengths, frameIds } = flattenStacks(p);
  const rows: Record<TableName, readonly object[]> = {
    devices: p.devices,
    frames,
    stackLengths: lengths.map((length) => ({ length })),
    stackFrames: frameIds.map((frame) => ({ frame })),
    cpuCalls: p.cpuCalls,
    gpuOps: p.gpuOps,
    ranges: p.ranges,
    memory: p.memory,
    memoryEvents: p.memoryEvents,
    metrics: p.metrics,
  };
  const chunks: Uint8Array[] = [];
  const tables = {} as SummaryMeta['tables'];
  for (const name of Object.keys(TABLES) as TableName[]) {
    const list = rows[name];
    const columns: StoredColumn[] = [];
    const leaves = leafColumns(TABLES[name]);
    const bases = new Set(leaves.flatMap(([, c]) => (c.type === 'num' && c.base ? [c.base] : [])));
    const kept = new Map<string, Float64Array>();
    for (const [key, col] of leaves) {
      const values = columnValues(list, key, col, strings, `${name}.${key}`);
      const base = col.type === 'num' && col.base ? kept.get(col.base) : undefined;
      const enc = chooseEncoding(col, values, base);
      const bytes = encodeValues(enc, values, base);
      if (bases.has(key)) kept.set(key, values);
      columns.push({
        name: key,
        enc,
        bytes: bytes.byteLength,
        ...(enc === 'd32' && values.length > 0 ? { origin: values[0] } : {}),
      });
      chunks.push(bytes);
      const pad = padded(bytes.byteLength) - bytes.byteLength;
      if (pad > 0) chunks.push(new Uint8Array(pad));
    }
    tables[name] = { rows: list.length, columns };
  }
  const meta: SummaryMeta = {
    traceName,
    source: { ...p.source },
    spanStartNs: p.spanStartNs,
    spanEndNs: p.spanEndNs,
    rankCount: p.rankCount,
    warnings: p.warnings,
    ...(read.traceRank !== undefined ? { traceRank: read.traceRank } : {}),
    ...(read.host !== undefined ? { host: read.host } : {}),
    ...(read.sessionStartNs !== undefined ? { sessionStartNs: String(read.sessionStartNs) } : {}),
    ...(read.baseUs !== undefined ? { baseUs: read.baseUs } : {}),
    strings: strings.list,
    tables,
  };
  const metaGz = zlib.gzipSync(JSON.stringify(meta));
  const header = Buffer.alloc(SUMMARY_HEADER_BYTES);
  SUMMARY_MAGIC.copy(header, 0);
  header.writeUInt32LE(SUMMARY_VERSION, 16);
  header.writeUInt32LE(metaGz.length, 20);
  return Buffer.concat([header, metaGz, zlib.gzipSync(Buffer.concat(chunks))]);
}

/**
 * Writes the summary to `out` through a temporary file beside it, renamed into place, so that a
 * reader of the folder never sees half a summary.
 */
export async function writeSummaryFile(
  read: RankFileRead,
  traceName: string,
  out: string,
): Promise<number> {
  const bytes = encodeSummary(read, traceName);
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`);
  try {
    await fs.promises.writeFile(tmp, bytes, { flag: 'wx' });
    await fs.promises.rename(tmp, out);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  return bytes.length;
}

/** Distinct frames, and each stack as its frame count plus its frame indices. */
function flattenStacks(p: Profile): { frames: Frame[]; lengths: number[]; frameIds: number[] } {
  const frames: Frame[] = [];
  const index = new Map<string, number>();
  const lengths: number[] = [];
  const frameIds: number[] = [];
  for (const stack of p.stacks) {
    lengths.push(stack.length);
    for (const f of stack) {
      const key = `${f.file}\0${f.line}\0${f.function}\0${f.precision}`;
      let id = index.get(key);
      if (id === undefined) {
        id = frames.length;
        frames.push(f);
        index.set(key, id);
      }
      frameIds.push(id);
    }
  }
  return { frames, lengths, frameIds };
}

/** One column's values as numbers (string indices, enum codes …; see summary-file-columns.ts). */
function columnValues(
  list: readonly object[],
  key: string,
  col: Column,
  strings: Interner,
  where: string,
): Float64Array {
  const [field, sub] = key.split('.');
  const out = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const row = list[i] as Record<string, unknown>;
    const outer = row[field];
    let v: unknown;
    let required = true;
    if (sub === undefined) v = outer;
    else if (outer === undefined) required = false;
    else v = (outer as Record<string, unknown>)[sub];
    out[i] = cell(col, v, required, strings, where);
  }
  return out;
}

/** One cell as a number; a value the model's type does not allow is a bug, reported as such. */
function cell(col: Column, v: unknown, required: boolean, strings: Interner, where: string) {
  const missing = v === undefined;
  if (missing && required && !('optional' in col && col.optional) && col.type !== 'bool')
    throw new Error(`cannot summarize: ${where} is missing on a record`);
  const text = (): string => {
    if (typeof v !== 'string') throw new Error(`cannot summarize: ${where} is not a string`);
    return v;
  };
  switch (col.type) {
    case 'bool':
    case 'obj':
      return v ? 1 : 0;
    case 'str':
      return missing ? -1 : strings.id(text());
    case 'ref':
      return missing ? -2 : Number(v);
    case 'enum': {
      if (missing) return 0;
      const code = col.values.indexOf(text());
      if (code < 0) throw new Error(`cannot summarize: ${where} is "${text()}"`);
      return code + 1;
    }
    case 'num':
      return missing ? NaN : Number(v);
  }
}

/** The string table: each distinct string once, referred to by index. */
class Interner {
  readonly list: string[] = [];
  private readonly ids = new Map<string, number>();

  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(s);
      this.ids.set(s, id);
    }
    return id;
  }
}

/**
 * CPU-side events from an nsys export: NVTX ranges (NVTX_EVENTS) and OS runtime calls (OSRT_API).
 */
import { classifyOsCall, type CpuRange } from '../model';
import { CPU_CALL_KINDS, type CpuCalls } from '../model-cpu-calls';
import { pidOf, StringIdInterner, tidOf, type NsysDb } from './nsys-db';
import { widen, type Span } from './nsys-gpu';

/** NVTX_EVENTS.eventType values (ENUM_NSYS_EVENT_TYPE). */
const NVTX_PUSH_POP = 59;
const NVTX_START_END = 60;
const NVTX_DOMAIN_CREATE = 75;

/**
 * Reads NVTX push/pop and start/end ranges as kind 'nvtx'. The message is the inline `text` or the
 * registered string behind `textId`; the domain name comes from the domain-create events. Ranges
 * never closed before the capture ended (null end) are skipped and counted in a warning.
 */
export function readNvtxRanges(
  ndb: NsysDb,
  strings: readonly string[],
  rank: number,
  ranges: CpuRange[],
  span: Span,
  warnings: string[],
): void {
  const table = 'NVTX_EVENTS';
  if (!ndb.has(table)) return;
  const cols = ndb.columns(table);
  if (!cols.has('eventType')) {
    warnings.push('NVTX_EVENTS has no eventType column: NVTX ranges were not read.');
    return;
  }
  const textOf = (text: unknown, textId: unknown): string =>
    typeof text === 'string' ? text : typeof textId === 'number' ? (strings[textId] ?? '') : '';

  const domains = new Map<number, string>();
  for (const [domainId, text, textId] of ndb.rows(
    table,
    ['domainId', 'text', 'textId'],
    `eventType = ${NVTX_DOMAIN_CREATE}`,
  )) {
    if (typeof domainId === 'number') domains.set(domainId, textOf(text, textId));
  }

  let unclosed = 0;
  const wanted = ['start', 'end', 'text', 'textId', 'globalTid', 'domainId'];
  const where = `eventType IN (${NVTX_PUSH_POP}, ${NVTX_START_END})`;
  for (const [start, end, text, textId, gtid, domainId] of ndb.rows(table, wanted, where)) {
    if (typeof end !== 'number' || typeof start !== 'number') {
      unclosed++;
      continue;
    }
    const g = (gtid as number | null) ?? 0;
    ranges.push({
      name: textOf(text, textId),
      startNs: start,
      endNs: end,
      pid: pidOf(g),
      tid: tidOf(g),
      rank,
      domain: typeof domainId === 'number' && domainId !== 0 ? (domains.get(domainId) ?? '') : '',
      kind: 'nvtx',
      stackId: -1,
    });
    widen(span, start, end);
  }
  if (unclosed > 0) {
    warnings.push(
      `${unclosed} NVTX range(s) were still open when the capture ended and were skipped.`,
    );
  }
}

/** OSRT_API.eventClass of the "OS runtime libraries profiling started/finished" markers. */
const OSRT_MARKER_CLASSES = [31, 32];

/**
 * Reads OS runtime calls (sleeps, reads, waits …) classified with `classifyOsCall`. Only outermost
 * calls are kept (nestingLevel 0): a nested call such as the `read` inside an `fread` lies within
 * its parent, and keeping both would count the same wait twice.
 */
export function readOsrtCalls(
  ndb: NsysDb,
  strings: readonly string[],
  callchainStacks: Map<number, number>,
  rank: number,
  calls: CpuCalls,
  span: Span,
): void {
  const table = 'OSRT_API';
  if (!ndb.has(table)) return;
  const cols = ndb.columns(table);
  const filters: string[] = [];
  if (cols.has('eventClass')) filters.push(`eventClass NOT IN (${OSRT_MARKER_CLASSES.join(', ')})`);
  if (cols.has('nestingLevel')) filters.push('coalesce(nestingLevel, 0) = 0');
  const where = filters.join(' AND ');
  const names = new StringIdInterner(strings, calls.names);
  /** CpuCalls kind code by index in calls.names. */
  const kindByName: number[] = [];
  // The thread of the previous row, split once (calls come in runs from one thread).
  let lastGtid = NaN;
  let thread = 0;
  const wanted = ['start', 'end', 'globalTid', 'nameId', 'callchainId'];
  for (const page of ndb.pages(table, wanted, where)) {
    calls.reserve(calls.length + page.length);
    for (const [start, end, gtid, nameId, chain] of page) {
      if (typeof start !== 'number' || typeof end !== 'number') continue;
      const name = names.of(typeof nameId === 'number' ? nameId : -1);
      let kind = kindByName[name];
      if (kind === undefined)
        kindByName[name] = kind = CPU_CALL_KINDS.indexOf(classifyOsCall(calls.names.at(name)));
      const g = (gtid as number | null) ?? 0;
      if (g !== lastGtid) {
        lastGtid = g;
        thread = calls.threads.intern(rank, pidOf(g), tidOf(g));
      }
      const i = calls.length;
      calls.name[i] = name;
      calls.kind[i] = kind;
      calls.startNs[i] = start;
      calls.endNs[i] = end;
      calls.thread[i] = thread;
      calls.correlationId[i] = 0;
      calls.stackId[i] = typeof chain === 'number' ? (callchainStacks.get(chain) ?? -1) : -1;
      calls.length = i + 1;
      widen(span, start, end);
    }
  }
}

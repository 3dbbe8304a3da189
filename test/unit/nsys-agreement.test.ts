/**
 * Agreement with NVIDIA where the definitions match: runs the installed `nsys analyze` rules
 * (cuda-sync-api, cuda-sync-memcpy, cuda-async-memcpy, gpu-starv, gpu-low-util) and `nsys stats`
 * (gpukernsum, cudaapisum) on copies of the nsys fixtures and compares their rows with what GPU
 * Lens's rules and report find. Where GPU Lens counts more than NVIDIA (event/context/driver syncs,
 * driver copy calls) the extra calls are checked by name; docs/rules.md says why. nsys must be
 * installed (CI installs Debian's nsight-systems): without it these tests fail.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findNsys, NSYS_NOT_FOUND } from '../../src/core/ingest/nsys-export';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import { buildReport } from '../../src/core/report';
import { gapsBetween } from '../../src/core/intervals';
import { deviceTimelines } from '../../src/core/device-timelines';
import { blockingSyncs } from '../../src/core/rules/host-sync';
import { syncCopyCalls } from '../../src/core/rules/memcpy-sync';
import { pageableCopies } from '../../src/core/rules/memcpy-pageable';
import type { Profile } from '../../src/core/model';
import { allFixtures } from './fixtures';
import { ProfileIndex } from '../../src/core/profile-index';

type Row = Record<string, string>;

const RULES = [
  'cuda-sync-api',
  'cuda-sync-memcpy',
  'cuda-async-memcpy',
  'gpu-starv',
  'gpu-low-util',
] as const;
/** Every row (rows=-1); gpu-starv from 1 ms (its default is 500 ms), gpu-low-util as its defaults. */
const RULE_ARGS: Record<(typeof RULES)[number], string> = {
  'cuda-sync-api': 'rows=-1',
  'cuda-sync-memcpy': 'rows=-1',
  'cuda-async-memcpy': 'rows=-1',
  'gpu-starv': 'rows=-1:gap=1',
  'gpu-low-util': 'rows=-1',
};
const STARV_NS = 1_000_000;
const STATS = ['gpukernsum', 'cudaapisum'] as const;

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (err, out, errOut) =>
      err
        ? reject(new Error(`nsys ${args.join(' ')} failed: ${err.message}\n${errOut}`))
        : resolve(out),
    );
  });
}

/** Minimal CSV reader for nsys output: quoted fields may hold commas and doubled quotes. */
function parseCsv(text: string): Row[] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  const endField = (): void => {
    record.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\n') {
      endField();
      records.push(record);
      record = [];
    } else if (ch !== '\r') field += ch;
  }
  if (field !== '' || record.length > 0) {
    endField();
    records.push(record);
  }
  const [header, ...rows] = records.filter((r) => r.length > 1 || r[0] !== '');
  if (!header) return [];
  return rows.map((r) => Object.fromEntries(header.map((h, k) => [h, r[k] ?? ''])));
}

interface NsysResults {
  rules: Record<(typeof RULES)[number], Row[]>;
  stats: Record<(typeof STATS)[number], Row[]>;
  profile: Profile;
}

const results = new Map<string, Promise<NsysResults>>();

/** nsys analyze + stats over a writable copy of the fixture (nsys may add tables to it). */
function nsysOn(fixture: string): Promise<NsysResults> {
  let p = results.get(fixture);
  if (!p) {
    p = (async () => {
      const nsys = findNsys();
      if (!nsys) throw new Error(NSYS_NOT_FOUND);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-nsys-agree-'));
      const db = path.join(dir, path.basename(fixture));
      fs.copyFileSync(fixture, db);
      fs.chmodSync(db, 0o644);
      const out = path.join(dir, 'r');
      const analyzeArgs = RULES.flatMap((r) => ['-r', `${r}:${RULE_ARGS[r]}`]);
      await run(nsys, [
        'analyze',
        ...analyzeArgs,
        '-f',
        'csv',
        '-o',
        out,
        '--force-overwrite',
        'true',
        db,
      ]);
      await run(nsys, [
        'stats',
        '-r',
        STATS.join(','),
        '-f',
        'csv',
        '-o',
        out,
        '--force-overwrite',
        'true',
        db,
      ]);
      const files = fs.readdirSync(dir);
      const read = (prefix: string): Row[] => {
        const f = files.find((x) => x.startsWith(`r_${prefix}`) && x.endsWith('.csv'));
        if (!f) throw new Error(`nsys wrote no r_${prefix}*.csv in ${dir} (${files.join(', ')})`);
        return parseCsv(fs.readFileSync(path.join(dir, f), 'utf8'));
      };
      const rules = Object.fromEntries(RULES.map((r) => [r, read(`${r}_`)]));
      const stats = Object.fromEntries(STATS.map((s) => [s, read(`${s}.`)]));
      return {
        rules: rules as NsysResults['rules'],
        stats: stats as NsysResults['stats'],
        profile: readNsysSqlite(fixture),
      };
    })();
    results.set(fixture, p);
  }
  return p;
}

const sorted = (xs: string[]): string[] => [...xs].sort();

for (const fixture of allFixtures('nsys')) {
  const name = path.basename(fixture);

  void test(`nsys agreement (${name}): host-sync's syncs are cuda-sync-api's rows, plus the event/context/driver syncs it names`, async () => {
    const { rules, stats, profile } = await nsysOn(fixture);
    const calls = blockingSyncs(new ProfileIndex(profile)).calls.map((i) =>
      profile.cpuCalls.get(i),
    );
    const nvidiaNamed = calls.filter((c) => /^cuda(Device|Stream)Synchronize/.test(c.name));
    assert.deepEqual(
      sorted(nvidiaNamed.map((c) => `${c.startNs}:${c.tid}:${c.endNs - c.startNs}`)),
      sorted(
        rules['cuda-sync-api'].map((r) => `${r['Start (ns)']}:${r.TID}:${r['Duration (ns)']}`),
      ),
    );
    // Every *Synchronize call nsys stats lists (cudaEventSynchronize, cuCtxSynchronize … too).
    const statSyncs = stats.cudaapisum.filter((r) => /Synchronize/.test(r.Name));
    assert.equal(
      calls.length,
      statSyncs.reduce((s, r) => s + Number(r['Num Calls']), 0),
    );
    assert.equal(
      calls.reduce((s, c) => s + c.endNs - c.startNs, 0),
      statSyncs.reduce((s, r) => s + Number(r['Total Time (ns)']), 0),
    );
  });

  void test(`nsys agreement (${name}): memcpy-sync's copies are cuda-sync-memcpy's rows`, async () => {
    const { rules, profile } = await nsysOn(fixture);
    const copies = syncCopyCalls(new ProfileIndex(profile))
      .filter((c) => /^cudaMemcpy/.test(profile.cpuCalls.nameOf(c.call)))
      .map((c) => (c.op >= 0 ? profile.gpuOps.get(c.op) : undefined));
    assert.deepEqual(
      sorted(copies.map((op) => `${op?.startNs}:${op ? op.endNs - op.startNs : -1}`)),
      sorted(rules['cuda-sync-memcpy'].map((r) => `${r['Start (ns)']}:${r['Duration (ns)']}`)),
    );
  });

  void test(`nsys agreement (${name}): memcpy-pageable's copies are cuda-async-memcpy's rows`, async () => {
    const { rules, profile } = await nsysOn(fixture);
    const ours = pageableCopies(profile).map((i) => profile.gpuOps.get(i));
    assert.deepEqual(
      sorted(ours.map((op) => `${op.startNs}:${op.endNs - op.startNs}`)),
      sorted(rules['cuda-async-memcpy'].map((r) => `${r['Start (ns)']}:${r['Duration (ns)']}`)),
    );
    // nsys prints the bytes in MB with three decimals.
    const mb = rules['cuda-async-memcpy'].reduce((s, r) => s + Number(r['Bytes (MB)']), 0);
    const bytes = ours.reduce((s, op) => s + (op.bytes ?? 0), 0);
    assert.ok(Math.abs(bytes / 1e6 - mb) <= 0.0005 * ours.length, `${bytes} B vs ${mb} MB`);
  });

  void test(`nsys agreement (${name}): the busy union's gaps over 1 ms are gpu-starv's rows`, async () => {
    const { rules, profile } = await nsysOn(fixture);
    const ours = deviceTimelines(profile).flatMap((tl) =>
      gapsBetween(tl.busy)
        .filter((g) => g.endNs - g.startNs > STARV_NS)
        .map((g) => `${tl.deviceId}:${g.startNs}:${g.endNs - g.startNs}`),
    );
    assert.deepEqual(
      sorted(ours),
      sorted(
        rules['gpu-starv'].map((r) => `${r['Device ID']}:${r['Start (ns)']}:${r['Duration (ns)']}`),
      ),
    );
  });

  void test(`nsys agreement (${name}): gpu-idle-gaps' low-utilization chunks cover gpu-low-util's rows`, async () => {
    const { rules, profile } = await nsysOn(fixture);
    const report = buildReport(profile, { workspaceRoot: os.tmpdir() });
    const idle = report.findings.find((f) => f.rule === 'gpu-idle-gaps');
    // nsys merges runs of low chunks into one row: its rows' length in chunks is the count.
    const chunks = deviceTimelines(profile).reduce((n, tl) => {
      const size = Math.ceil((tl.lastNs - tl.firstNs) / 30);
      const rows = rules['gpu-low-util'].filter((r) => Number(r['Device ID']) === tl.deviceId);
      return n + rows.reduce((s, r) => s + Math.ceil(Number(r['Duration (ns)']) / size), 0);
    }, 0);
    assert.equal(Number(idle?.evidence.lowUtilChunks ?? 0), chunks);
  });

  void test(`nsys agreement (${name}): the report's kernel table is nsys stats gpukernsum's`, async () => {
    const { stats, profile } = await nsysOn(fixture);
    const report = buildReport(profile, { workspaceRoot: os.tmpdir() });
    const byName = new Map<string, { count: number; ns: number }>();
    for (const r of stats.gpukernsum) {
      const e = byName.get(r.Name) ?? { count: 0, ns: 0 };
      e.count += Number(r.Instances);
      e.ns += Number(r['Total Time (ns)']);
      byName.set(r.Name, e);
    }
    assert.deepEqual(
      new Map(report.kernels.map((k) => [k.name, { count: k.count, ns: k.totalNs }])),
      byName,
    );
  });
}

void test('nsys agreement: the RTX 5000 export gives every compared rule rows to compare', async () => {
  const rtx = allFixtures('nsys').find((f) => f.includes('rtx5000'));
  assert.ok(rtx, 'the RTX 5000 nsys fixture is missing');
  const { rules, stats } = await nsysOn(rtx);
  for (const r of ['cuda-sync-api', 'cuda-async-memcpy', 'gpu-starv', 'gpu-low-util'] as const)
    assert.ok(rules[r].length > 0, `nsys ${r} found nothing on ${rtx}`);
  assert.ok(stats.gpukernsum.length > 0 && stats.cudaapisum.length > 0);
  // NVIDIA finds no synchronous copy API here: PyTorch copied with cudaMemcpyAsync (113 calls).
  assert.equal(rules['cuda-sync-memcpy'].length, 0);
});

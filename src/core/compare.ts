/**
 * Compares two Reports of the same workload (before/after a change): per source line, per kernel
 * and per rule, with each change past `thresholdPct` flagged — the reference texts' regression
 * check (10 % by default), applied to the profile instead of a single latency number.
 */
import type { Report } from './report-types';

/** How one measured quantity moved. `deltaPct` is null when the baseline is 0 (new item). */
export interface Delta {
  baselineNs: number;
  currentNs: number;
  deltaNs: number;
  deltaPct: number | null;
  /** Past the threshold either way (a new or vanished item counts as past it). */
  flagged: boolean;
  /** 'regression' when it got slower / costlier, 'improvement' when faster, 'same' otherwise. */
  direction: 'regression' | 'improvement' | 'same';
}

export interface LineDelta extends Delta {
  file: string;
  line: number;
  function: string;
}

export interface KernelDelta extends Delta {
  name: string;
  baselineCount: number;
  currentCount: number;
}

export interface RuleDelta extends Delta {
  rule: string;
  /** Present in current only ('new'), baseline only ('resolved'), or both ('both'). */
  status: 'new' | 'resolved' | 'both';
}

export interface Comparison {
  thresholdPct: number;
  baseline: { path: string; format: string };
  current: { path: string; format: string };
  summary: {
    wallNs: Delta;
    gpuBusyNs: Delta;
    gpuIdleNs: Delta;
    kernelNs: Delta;
    memcpyNs: Delta;
    commNs: Delta;
    /** Percentage points; flagged when it moved by more than thresholdPct points. */
    gpuActivePct: { baseline: number; current: number; delta: number; flagged: boolean };
    stepP50Ns: Delta | null;
    stepP99Ns: Delta | null;
  };
  /** By |deltaNs|, largest first. Lines are matched on file:line. Values are selfNs. */
  lines: LineDelta[];
  kernels: KernelDelta[];
  /** Per rule: total estimated savings of its findings. */
  rules: RuleDelta[];
}

/** Builds a Delta; costs (ns) where more is worse. */
export function delta(baselineNs: number, currentNs: number, thresholdPct: number): Delta {
  const deltaNs = currentNs - baselineNs;
  const deltaPct = baselineNs !== 0 ? (deltaNs / baselineNs) * 100 : null;
  const flagged = deltaPct === null ? currentNs !== 0 : Math.abs(deltaPct) > thresholdPct;
  const direction = deltaNs > 0 ? 'regression' : deltaNs < 0 ? 'improvement' : 'same';
  return { baselineNs, currentNs, deltaNs, deltaPct, flagged, direction };
}

function byAbsDelta<T extends Delta>(list: T[]): T[] {
  return list.sort((a, b) => Math.abs(b.deltaNs) - Math.abs(a.deltaNs));
}

/** Diffs two Reports. */
export function compare(baseline: Report, current: Report, thresholdPct = 10): Comparison {
  const d = (a: number, b: number) => delta(a, b, thresholdPct);
  const lines = new Map<
    string,
    { file: string; line: number; function: string; a: number; b: number }
  >();
  for (const [side, report] of [
    ['a', baseline],
    ['b', current],
  ] as const) {
    for (const l of report.lines) {
      const key = `${l.file}:${l.line}`;
      const e = lines.get(key) ?? { file: l.file, line: l.line, function: l.function, a: 0, b: 0 };
      e[side] += l.selfNs;
      lines.set(key, e);
    }
  }
  const kernels = new Map<string, { a: number; b: number; ca: number; cb: number }>();
  for (const k of baseline.kernels) kernels.set(k.name, { a: k.totalNs, b: 0, ca: k.count, cb: 0 });
  for (const k of current.kernels) {
    const e = kernels.get(k.name) ?? { a: 0, b: 0, ca: 0, cb: 0 };
    e.b += k.totalNs;
    e.cb += k.count;
    kernels.set(k.name, e);
  }
  const rules = new Map<string, { a: number; b: number; inA: boolean; inB: boolean }>();
  for (const f of baseline.findings) {
    const e = rules.get(f.rule) ?? { a: 0, b: 0, inA: false, inB: false };
    e.a += f.savingsNs;
    e.inA = true;
    rules.set(f.rule, e);
  }
  for (const f of current.findings) {
    const e = rules.get(f.rule) ?? { a: 0, b: 0, inA: false, inB: false };
    e.b += f.savingsNs;
    e.inB = true;
    rules.set(f.rule, e);
  }
  const sa = baseline.summary;
  const sb = current.summary;
  const activeDelta = sb.gpuActivePct - sa.gpuActivePct;
  return {
    thresholdPct,
    baseline: { path: baseline.source.path, format: baseline.source.format },
    current: { path: current.source.path, format: current.source.format },
    summary: {
      wallNs: d(sa.wallNs, sb.wallNs),
      gpuBusyNs: d(sa.gpuBusyNs, sb.gpuBusyNs),
      gpuIdleNs: d(sa.gpuIdleNs, sb.gpuIdleNs),
      kernelNs: d(sa.kernelNs, sb.kernelNs),
      memcpyNs: d(sa.memcpyNs, sb.memcpyNs),
      commNs: d(sa.commNs, sb.commNs),
      gpuActivePct: {
        baseline: sa.gpuActivePct,
        current: sb.gpuActivePct,
        delta: activeDelta,
        flagged: Math.abs(activeDelta) > thresholdPct,
      },
      stepP50Ns:
        baseline.steps && current.steps ? d(baseline.steps.p50Ns, current.steps.p50Ns) : null,
      stepP99Ns:
        baseline.steps && current.steps ? d(baseline.steps.p99Ns, current.steps.p99Ns) : null,
    },
    lines: byAbsDelta(
      [...lines.values()].map((l) => ({
        file: l.file,
        line: l.line,
        function: l.function,
        ...d(l.a, l.b),
      })),
    ),
    kernels: byAbsDelta(
      [...kernels.entries()].map(([name, k]) => ({
        name,
        baselineCount: k.ca,
        currentCount: k.cb,
        ...d(k.a, k.b),
      })),
    ),
    rules: byAbsDelta(
      [...rules.entries()].map(([rule, r]) => ({
        rule,
        status: r.inA && r.inB ? 'both' : r.inB ? 'new' : 'resolved',
        ...d(r.a, r.b),
      })),
    ),
  };
}

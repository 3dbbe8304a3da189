/** Where a rule's finding points: costs on stacks, ranges or lines summed per workspace line. */
import type { SourceRef } from '../report-types';
import type { RuleContext } from './types';

/** A cost tied to a stack (ops, calls) that is to be shown at its workspace line. */
export interface LocatedCost {
  stackId: number;
  ns: number;
}

/**
 * Resolves stacks to their innermost workspace line and sums the cost per line; the most costly
 * line comes first. Stacks that reach no workspace frame are left out.
 */
export function aggregateLocations(
  ctx: RuleContext,
  costs: Iterable<LocatedCost>,
  max = 10,
): SourceRef[] {
  const byLine = new Map<string, { ref: SourceRef; ns: number }>();
  const cache = new Map<number, SourceRef | null>();
  for (const c of costs) {
    let ref = cache.get(c.stackId);
    if (ref === undefined) {
      ref = c.stackId >= 0 ? ctx.locate(c.stackId) : null;
      cache.set(c.stackId, ref);
    }
    if (!ref) continue;
    addRef(byLine, ref, c.ns);
  }
  return sortRefs(byLine, max);
}

/** Same as aggregateLocations for annotated ranges (Profile.ranges indexes). */
export function aggregateRangeLocations(
  ctx: RuleContext,
  costs: Iterable<{ rangeIndex: number; ns: number }>,
  max = 10,
): SourceRef[] {
  const byLine = new Map<string, { ref: SourceRef; ns: number }>();
  for (const c of costs) {
    const ref = ctx.locateRange(c.rangeIndex);
    if (ref) addRef(byLine, ref, c.ns);
  }
  return sortRefs(byLine, max);
}

/** Sums costs already resolved to lines (null: not in the workspace); the most costly line first. */
export function aggregateRefs(
  costs: Iterable<{ ref: SourceRef | null; ns: number }>,
  max = 10,
): SourceRef[] {
  const byLine = new Map<string, { ref: SourceRef; ns: number }>();
  for (const c of costs) if (c.ref) addRef(byLine, c.ref, c.ns);
  return sortRefs(byLine, max);
}

function addRef(
  byLine: Map<string, { ref: SourceRef; ns: number }>,
  ref: SourceRef,
  ns: number,
): void {
  const key = `${ref.file}:${ref.line}`;
  const entry = byLine.get(key);
  if (entry) entry.ns += ns;
  else byLine.set(key, { ref: { file: ref.file, line: ref.line }, ns });
}

function sortRefs(byLine: Map<string, { ref: SourceRef; ns: number }>, max: number): SourceRef[] {
  return [...byLine.values()]
    .sort((a, b) => b.ns - a.ns)
    .slice(0, max)
    .map((e) => e.ref);
}

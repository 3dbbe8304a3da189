/**
 * The idle gaps of at least minGapNs as columns: a long trace has hundreds of thousands of them,
 * and an object apiece (two boxed doubles each) cost ~150 bytes a gap against ~40 here. Gap k is
 * row k of every column, in device order then time order (as idle-gaps.ts finds them). Rules that
 * want objects ask for the gaps of their causes (`where`), and claims keep gap numbers.
 */
import { ColumnTable } from '../model-columns';
import { GAP_CAUSE_TEXT, type GapCause, type GapExplanation } from './gap-causes';
import type { IdleGap } from './types';

/** Cause codes of the `cause` column: indexes into this list. */
export const GAP_CAUSES = Object.keys(GAP_CAUSE_TEXT) as GapCause[];

export class IdleGapTable extends ColumnTable {
  protected readonly columns = [
    'rank',
    'deviceId',
    'startNs',
    'endNs',
    'cause',
    'stackId',
    'rangeIndex',
    'launchIndex',
    'blocker',
  ] as const;
  rank = new Int32Array(0);
  deviceId = new Int32Array(0);
  startNs = new Float64Array(0);
  endNs = new Float64Array(0);
  cause = new Uint8Array(0);
  stackId = new Int32Array(0);
  rangeIndex = new Int32Array(0);
  launchIndex = new Int32Array(0);
  /** host-sync: the call that drained the queue, else -1. */
  blocker = new Int32Array(0);

  add(
    rank: number,
    deviceId: number,
    startNs: number,
    endNs: number,
    why: GapExplanation,
    launchIndex: number,
  ): void {
    const k = this.nextRow();
    this.rank[k] = rank;
    this.deviceId[k] = deviceId;
    this.startNs[k] = startNs;
    this.endNs[k] = endNs;
    this.cause[k] = GAP_CAUSES.indexOf(why.cause);
    this.stackId[k] = why.stackId;
    this.rangeIndex[k] = why.rangeIndex;
    this.launchIndex[k] = launchIndex;
    this.blocker[k] = why.blocker ?? -1;
  }

  causeOf(k: number): GapCause {
    return GAP_CAUSES[this.cause[k]];
  }

  ns(k: number): number {
    return this.endNs[k] - this.startNs[k];
  }

  /** Gap k as an object (a copy). */
  at(k: number): IdleGap {
    const g: IdleGap = {
      index: k,
      rank: this.rank[k],
      deviceId: this.deviceId[k],
      startNs: this.startNs[k],
      endNs: this.endNs[k],
      cause: this.causeOf(k),
      stackId: this.stackId[k],
      rangeIndex: this.rangeIndex[k],
      launchIndex: this.launchIndex[k],
    };
    if (this.blocker[k] >= 0) g.blocker = this.blocker[k];
    return g;
  }

  /** The gaps of `cause` for which `keep` holds (all of them without it), as objects in order. */
  where(cause: GapCause, keep: (g: IdleGap) => boolean = () => true): IdleGap[] {
    const code = GAP_CAUSES.indexOf(cause);
    const out: IdleGap[] = [];
    for (let k = 0; k < this.length; k++) {
      if (this.cause[k] !== code) continue;
      const g = this.at(k);
      if (keep(g)) out.push(g);
    }
    return out;
  }
}

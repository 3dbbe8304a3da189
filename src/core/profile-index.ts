/**
 * What the analysis derives from a Profile, built once per report on first use and shared by the
 * report's stages and rules: each device's timeline, each rank's busy union, each thread's calls
 * and the replay's timeline. It lives as long as the report build (or a caller) holds it, so
 * nothing stays in memory once the Report is made; treat what it returns as read-only.
 */
import { type DeviceTimeline, deviceTimelines, rankBusy } from './device-timelines';
import { type ThreadCalls, callsByThread } from './cpu-threads';
import type { IntervalList } from './intervals';
import type { Profile } from './model';
import { type Timeline, replayTimeline } from './replay-timeline';

export class ProfileIndex {
  private timelinesMemo: DeviceTimeline[] | undefined;
  private rankBusyMemo: Map<number, IntervalList> | undefined;
  private threadsMemo: Map<string, ThreadCalls> | undefined;
  private replayMemo: Timeline | undefined;

  constructor(readonly profile: Profile) {}

  /** GPU ops per (rank, device) with their busy unions, in (rank, device) order. */
  get timelines(): readonly DeviceTimeline[] {
    return (this.timelinesMemo ??= deviceTimelines(this.profile));
  }

  /** Union of the rank's devices' busy intervals, per rank. */
  get rankBusy(): ReadonlyMap<number, IntervalList> {
    return (this.rankBusyMemo ??= rankBusy(this.timelines));
  }

  /** The CPU calls of each thread (threadKey) in start order. */
  get threads(): ReadonlyMap<string, ThreadCalls> {
    return (this.threadsMemo ??= callsByThread(this.profile.cpuCalls));
  }

  /** The recorded timeline the what-if replay re-runs (replay.ts). */
  get replayTimeline(): Timeline {
    return (this.replayMemo ??= replayTimeline(this.profile, this.timelines));
  }
}

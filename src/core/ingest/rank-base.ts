/**
 * The Kineto µs base of a rank folder: epoch-scale timestamps are read relative to a whole-second
 * base (kineto-events.ts `ns`), and every file of one folder shares the first file's, so that the
 * ranks' clocks stay comparable. A file read on its own base (a summary, or a rank read in a
 * worker thread before the first file's base was known) is moved onto the folder's here.
 */
import type { Profile } from '../model';
import type { RankFileRead } from './rank-files';

/**
 * `read` with its times moved onto `folderBaseUs` (in place), as its trace would have been read
 * with that base: exactly so between epoch-clock files; a file whose own clock needed no base
 * (`baseUs` 0) lands as far off as its trace would, to within the doubles' rounding there. A read
 * with no base (nsys) or an absent folder base is left as it is.
 */
export function onFolderBase(read: RankFileRead, folderBaseUs: number | undefined): RankFileRead {
  const own = read.baseUs;
  if (own === undefined || !folderBaseUs || own === folderBaseUs) return read;
  shiftTimes(read.profile, (own - folderBaseUs) * 1000);
  return { ...read, baseUs: folderBaseUs };
}

/** Adds `ns` to every time of a profile. */
function shiftTimes(p: Profile, ns: number): void {
  for (const t of [p.gpuOps, p.cpuCalls, p.operators])
    for (let i = 0; i < t.length; i++) {
      t.startNs[i] += ns;
      t.endNs[i] += ns;
    }
  for (const x of p.ranges) {
    x.startNs += ns;
    x.endNs += ns;
  }
  for (const t of [p.memory, p.memoryEvents]) for (let i = 0; i < t.length; i++) t.tsNs[i] += ns;
  for (const x of p.metrics) x.tsNs += ns;
  p.spanStartNs += ns;
  p.spanEndNs += ns;
}

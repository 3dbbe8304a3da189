/** Human-readable figures, shared by the CLI's Markdown, hovers, CodeLens and the panel. */

/** 1234567 → "1.23 ms"; picks ns, µs, ms or s and keeps three significant digits. */
export function formatNs(ns: number): string {
  const a = Math.abs(ns);
  if (a < 1_000) return `${Math.round(ns)} ns`;
  if (a < 1_000_000) return `${sig(ns / 1_000)} µs`;
  if (a < 1_000_000_000) return `${sig(ns / 1_000_000)} ms`;
  return `${sig(ns / 1_000_000_000)} s`;
}

/** Signed duration for comparisons: "+2.10 ms", "−350 µs". */
export function formatDeltaNs(ns: number): string {
  return (ns >= 0 ? '+' : '−') + formatNs(Math.abs(ns));
}

/**
 * 42.4 → "42%", 3.14 → "3.1%", 0.0512 → "0.051%": two significant digits under 1 % so a small
 * share never reads as 0, and never "100%" for less than all of it (99.96 → "99.9%").
 */
export function formatPct(x: number): string {
  if (x > 0 && x < 1) return `${Number(x.toPrecision(2))}%`;
  if (x >= 99.5 && x < 100) return `${Math.floor(x * 10) / 10}%`;
  return `${x >= 10 ? Math.round(x) : Math.round(x * 10) / 10}%`;
}

export function formatBytes(b: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = b;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : sig(v)} ${units[u]}`;
}

function sig(x: number): string {
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/**
 * A device as the views name it: "GPU 0 (NVIDIA H200)", and "rank 1 · GPU 0 (NVIDIA H200)" when
 * the profile has several ranks (each rank numbers its own devices).
 */
export function deviceLabel(
  d: { rank: number; id: number; name: string },
  rankCount: number,
): string {
  const gpu = `GPU ${d.id}`;
  const named = d.name && d.name !== gpu ? `${gpu} (${d.name})` : gpu;
  return rankCount > 1 ? `rank ${d.rank} · ${named}` : named;
}

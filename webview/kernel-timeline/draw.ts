/**
 * Draws the kernel timeline onto a 2D context from a window answer of the server
 * (core/timeline-columns-window.ts): per lane its single ops or per-pixel aggregates, and under each
 * GPU's stream lanes an idle lane with the Report's gaps coloured by cause. No DOM access (colours
 * come in, text goes through fillText), so the benchmark runs the same code headless; hit testing
 * lives here too, on the same layout.
 */
import type { GapStat } from '../../src/core/report-types';
import type { TimelineLane } from '../../src/core/timeline-columns-types';
import type { WindowAnswer, WindowLane } from '../../src/core/timeline-columns-types';

export const LABEL_W = 170;
export const LANE_H = 18;
export const IDLE_H = 10;
export const AXIS_H = 18;

/** What a 2D canvas context offers that the drawing uses (a stub stands in for it headless). */
export interface Ctx {
  fillStyle: string | CanvasGradient | CanvasPattern;
  strokeStyle: string | CanvasGradient | CanvasPattern;
  font: string;
  textBaseline: CanvasTextBaseline;
  lineWidth: number;
  fillRect(x: number, y: number, w: number, h: number): void;
  strokeRect(x: number, y: number, w: number, h: number): void;
  clearRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number, maxWidth?: number): void;
  save(): void;
  restore(): void;
  beginPath(): void;
  rect(x: number, y: number, w: number, h: number): void;
  clip(): void;
}

/** Theme colours, read from VS Code's CSS variables by the caller at draw time. */
export interface Palette {
  foreground: string;
  muted: string;
  border: string;
  background: string;
  selection: string;
  /** Kernel colours, picked by name. */
  kernels: string[];
  memcpy: string;
  memset: string;
  range: string;
  launch: string;
  /** Gap colours by cause id; `other` for the rest. */
  causes: Record<string, string>;
  other: string;
}

/** One drawn row: a lane of the answer, or a GPU's idle lane (gaps). */
export type Row =
  | { type: 'lane'; lane: number; info: TimelineLane; y: number; h: number }
  | { type: 'idle'; rank: number; deviceId: number; y: number; h: number };

/** The view: [t0, t1) ns relative to the columns' base, over a plot `width` CSS px wide. */
export interface View {
  t0: number;
  t1: number;
  width: number;
}

/** A gap's rank: the Report carries one per gap in multi-rank traces (0 otherwise). */
export function rankOf(x: object): number {
  const r = (x as { rank?: unknown }).rank;
  return typeof r === 'number' ? r : 0;
}

/** Rows top to bottom: each rank's CPU lanes, then per GPU its stream lanes and its idle lane. */
export function layoutRows(lanes: TimelineLane[]): Row[] {
  const rows: Row[] = [];
  let y = AXIS_H;
  lanes.forEach((info, lane) => {
    rows.push({ type: 'lane', lane, info, y, h: LANE_H });
    y += LANE_H;
    const next = lanes[lane + 1];
    const lastOfGpu =
      info.kind === 'stream' &&
      (!next ||
        next.kind !== 'stream' ||
        next.rank !== info.rank ||
        next.deviceId !== info.deviceId);
    if (lastOfGpu) {
      rows.push({ type: 'idle', rank: info.rank, deviceId: info.deviceId, y, h: IDLE_H });
      y += IDLE_H;
    }
  });
  return rows;
}

export function heightOf(rows: Row[]): number {
  const last = rows[rows.length - 1];
  return last ? last.y + last.h + 2 : AXIS_H + 2;
}

/** A stable colour per name (FNV-1a hash over the palette). */
function kernelColour(p: Palette, name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return p.kernels[(h >>> 0) % p.kernels.length];
}

function opColour(p: Palette, kind: number, name: string): string {
  if (kind === 1) return p.memcpy;
  if (kind === 2) return p.memset;
  if (kind === 3) return p.range;
  if (kind === 4) return p.launch;
  return kernelColour(p, name);
}

export interface Selection {
  lane: number;
  index: number;
}

/** Draws one frame. `shortName` shortens kernel names for labels. */
export function drawTimeline(
  ctx: Ctx,
  view: View,
  rows: Row[],
  answer: WindowAnswer | null,
  gaps: GapStat[],
  p: Palette,
  selection: Selection | null,
  shortName: (name: string) => string,
  baseNs: number,
  /** The lane the keyboard steps through (its label is marked); -1 for none. */
  focusLane = -1,
): void {
  const height = heightOf(rows);
  ctx.clearRect(0, 0, LABEL_W + view.width, height);
  ctx.font = '11px sans-serif';
  ctx.textBaseline = 'middle';
  const scale = view.width / Math.max(1, view.t1 - view.t0);
  const x = (t: number) => LABEL_W + (t - view.t0) * scale;
  drawAxis(ctx, view, p);
  const byLane = new Map<number, WindowLane>();
  for (const r of answer?.rows ?? []) byLane.set(r.lane, r);
  for (const row of rows) {
    const focused = row.type === 'lane' && row.lane === focusLane;
    if (focused) {
      ctx.fillStyle = p.selection;
      ctx.fillRect(0, row.y + 1, 2, row.h - 2);
    }
    ctx.fillStyle = focused ? p.foreground : p.muted;
    ctx.fillText(
      row.type === 'lane' ? row.info.label : `GPU ${row.deviceId} idle`,
      4,
      row.y + row.h / 2,
      LABEL_W - 8,
    );
    ctx.fillStyle = p.border;
    ctx.fillRect(LABEL_W, row.y + row.h - 1, view.width, 1);
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, row.y, view.width, row.h);
    ctx.clip();
    if (row.type === 'idle') {
      for (const g of gaps) {
        if (g.deviceId !== row.deviceId || rankOf(g) !== row.rank) continue;
        const a = x(g.startNs - baseNs);
        const b = x(g.endNs - baseNs);
        if (b < LABEL_W || a > LABEL_W + view.width) continue;
        ctx.fillStyle = p.causes[g.causeId] ?? p.other;
        ctx.fillRect(a, row.y + 1, Math.max(1, b - a), row.h - 3);
      }
    } else {
      const r = byLane.get(row.lane);
      if (r?.ops) drawOps(ctx, r, row, answer!, p, x, selection, shortName);
      else if (r?.agg) drawAggregate(ctx, r, row, answer!, p, x);
    }
    ctx.restore();
  }
}

function drawAxis(ctx: Ctx, view: View, p: Palette): void {
  const span = view.t1 - view.t0;
  // A tick every 1, 2 or 5 × 10^k ns, about every 100 px.
  const raw = span / Math.max(1, view.width / 100);
  const mag = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  ctx.fillStyle = p.muted;
  for (let t = Math.ceil(view.t0 / step) * step; t < view.t1; t += step) {
    const px = LABEL_W + ((t - view.t0) / span) * view.width;
    ctx.fillRect(px, AXIS_H - 4, 1, 4);
    ctx.fillText(tickLabel(t), px + 2, AXIS_H / 2 - 1);
  }
}

function tickLabel(ns: number): string {
  if (ns === 0) return '0';
  if (ns >= 1e9) return `${+(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${+(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${+(ns / 1e3).toFixed(3)} µs`;
  return `${Math.round(ns)} ns`;
}

function drawOps(
  ctx: Ctx,
  r: WindowLane,
  row: Extract<Row, { type: 'lane' }>,
  answer: WindowAnswer,
  p: Palette,
  x: (t: number) => number,
  selection: Selection | null,
  shortName: (name: string) => string,
): void {
  const ops = r.ops!;
  for (let k = 0; k < ops.index.length; k++) {
    let a = x(ops.start[k]);
    let w = x(ops.end[k]) - a;
    // An op under a pixel wide still gets one, centred on it.
    if (w < 1) [a, w] = [a + w / 2 - 0.5, 1];
    const name = answer.names[ops.name[k]] ?? '';
    ctx.fillStyle = opColour(p, ops.kind[k], name);
    ctx.fillRect(a, row.y + 2, w, row.h - 5);
    if (w > 40) {
      ctx.fillStyle = p.background;
      ctx.fillText(shortName(name), Math.max(a, LABEL_W) + 3, row.y + row.h / 2 - 1, w - 6);
    }
    if (selection && selection.lane === row.lane && selection.index === ops.index[k]) {
      ctx.strokeStyle = p.selection;
      ctx.lineWidth = 2;
      ctx.strokeRect(a - 1, row.y + 1, w + 2, row.h - 3);
    }
  }
}

/** Per-pixel bars as tall as the pixel is busy, coloured by its longest op; equal runs merged. */
function drawAggregate(
  ctx: Ctx,
  r: WindowLane,
  row: Extract<Row, { type: 'lane' }>,
  answer: WindowAnswer,
  p: Palette,
  x: (t: number) => number,
): void {
  const { busy, top } = r.agg!;
  const px = (answer.t1 - answer.t0) / busy.length;
  const full = row.h - 3;
  const kind = row.info.kind === 'nvtx' ? 3 : row.info.kind === 'cpu' ? 4 : 0;
  let runStart = 0;
  for (let k = 1; k <= busy.length; k++) {
    const h = Math.round(busy[runStart] * full);
    if (k < busy.length && top[k] === top[runStart] && Math.round(busy[k] * full) === h) continue;
    if (h > 0 || top[runStart] >= 0) {
      const a = x(answer.t0 + runStart * px);
      const b = x(answer.t0 + k * px);
      ctx.fillStyle = opColour(p, kind, answer.names[top[runStart]] ?? '');
      const hh = Math.max(1, h);
      ctx.fillRect(a, row.y + 1 + full - hh, Math.max(1, b - a), hh);
    }
    runStart = k;
  }
}

/** What is under a point (CSS px in the canvas): an op, an aggregated pixel or a gap. */
export type Hit =
  | { type: 'op'; lane: number; k: number }
  | { type: 'pixel'; lane: number; p: number }
  | { type: 'gap'; gap: GapStat }
  | null;

export function hitTest(
  px: number,
  py: number,
  view: View,
  rows: Row[],
  answer: WindowAnswer | null,
  gaps: GapStat[],
  baseNs: number,
): Hit {
  if (px < LABEL_W) return null;
  const row = rows.find((r) => py >= r.y && py < r.y + r.h);
  if (!row) return null;
  const scale = view.width / Math.max(1, view.t1 - view.t0);
  const t = view.t0 + (px - LABEL_W) / scale;
  const slack = 2 / scale; // two pixels either side: 1-px kernels stay clickable
  if (row.type === 'idle') {
    const gap = gaps.find(
      (g) =>
        g.deviceId === row.deviceId &&
        rankOf(g) === row.rank &&
        g.startNs - baseNs - slack <= t &&
        t <= g.endNs - baseNs + slack,
    );
    return gap ? { type: 'gap', gap } : null;
  }
  const r = answer?.rows.find((x) => x.lane === row.lane);
  if (r?.ops) {
    let best = -1;
    let bestD = Infinity;
    for (let k = 0; k < r.ops.index.length; k++) {
      const d = t < r.ops.start[k] ? r.ops.start[k] - t : t > r.ops.end[k] ? t - r.ops.end[k] : 0;
      if (d <= slack && d < bestD) [best, bestD] = [k, d];
    }
    return best >= 0 ? { type: 'op', lane: row.lane, k: best } : null;
  }
  if (r?.agg && answer) {
    const p = Math.floor(((t - answer.t0) / (answer.t1 - answer.t0)) * r.agg.busy.length);
    if (p >= 0 && p < r.agg.busy.length && r.agg.top[p] >= 0)
      return { type: 'pixel', lane: row.lane, p };
  }
  return null;
}

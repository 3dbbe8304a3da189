/**
 * The GPU activity timeline on a <canvas>: one lane per (rank, device) with the busy fraction of
 * each time bucket (`report.timeline`) and, under it, the lane's idle gaps (`report.gaps`)
 * coloured by cause, with a legend. The lanes' labels ("rank 1 · GPU 0 (NVIDIA H200)") are DOM
 * text beside the canvas, row for row. Zoom with the buttons, the mouse wheel (around the pointer)
 * or the keyboard (+, −, arrows, 0); clicking a gap with a known source line reveals it. With a
 * rank selected (setRank) only that rank's lanes are drawn.
 */
import { deviceLabel, formatNs } from '../src/core/format';
import type { GapStat, Report, SourceRef, TimelineTrack } from '../src/core/report-types';
import { cssVar, el, refLabel } from './dom';
import type { StateStore } from './state';
import { causeColour, causesByIdle } from './gap-colours';

/** Left margin of the plot inside the canvas (the lane labels are outside it). */
const LABEL_W = 4;
const TRACK_H = 30;
const GAP_H = 10;
/** One lane: its busy bars, its gap strip and the space before the next lane. */
const ROW_H = TRACK_H + GAP_H + 6;
const AXIS_H = 18;
const MIN_SPAN_FRACTION = 1e-4;

interface View {
  from: number;
  to: number;
}

/** The lane key of a track or gap: its device is (rank, device id). */
const laneKey = (x: { rank: number; deviceId: number }): string => `${x.rank}:${x.deviceId}`;

export class Timeline {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly labels: HTMLElement;
  private readonly rangeLabel: HTMLElement;
  private readonly causes: string[];
  private readonly spanNs: number;
  /** Each lane's gaps. */
  private readonly gapsByLane = new Map<string, GapStat[]>();
  /** The lanes drawn: every track, or the selected rank's. */
  private lanes: TimelineTrack[];
  private view: View;

  constructor(
    private readonly report: Report,
    private readonly store: StateStore,
    private readonly reveal: (r: SourceRef) => void,
  ) {
    const tracks = report.timeline;
    this.spanNs = Math.max(
      report.summary.wallNs,
      ...tracks.map((t) => t.bucketNs * t.busy.length),
      1,
    );
    this.causes = causesByIdle(report.gaps, (g) => g.cause);
    for (const g of report.gaps) {
      const list = this.gapsByLane.get(laneKey(g));
      if (list) list.push(g);
      else this.gapsByLane.set(laneKey(g), [g]);
    }
    this.lanes = tracks;
    this.view = store.get().zoom;
    this.canvas = el('canvas', {
      class: 'timeline-canvas',
      tabindex: '0',
      role: 'img',
      'aria-keyshortcuts': '+ - ArrowLeft ArrowRight 0',
    });
    this.labels = el('ol', { class: 'timeline-lanes', 'aria-label': 'Timeline lanes' });
    this.showLanes();
    this.rangeLabel = el('span', { class: 'timeline-range', 'aria-live': 'polite' });
    this.canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.canvas.addEventListener('mousemove', (e) => this.onHover(e));
    this.canvas.addEventListener('click', (e) => {
      const loc = this.gapAt(e)?.location;
      if (loc) this.reveal(loc);
    });
    this.element = el(
      'section',
      { class: 'timeline', 'aria-label': 'GPU timeline' },
      el(
        'div',
        { class: 'timeline-toolbar' },
        el('h2', {}, 'GPU timeline'),
        this.button('+', 'Zoom in', () => this.zoom(0.5, 0.5)),
        this.button('−', 'Zoom out', () => this.zoom(2, 0.5)),
        this.button('Reset', 'Show the whole trace', () => this.setView({ from: 0, to: 1 })),
        this.rangeLabel,
      ),
      el('div', { class: 'timeline-body' }, this.labels, this.canvas),
      this.legend(),
    );
    new ResizeObserver(() => this.draw()).observe(this.element);
    // VS Code swaps the body's theme class on a theme change: redraw with the new colours.
    new MutationObserver(() => this.draw()).observe(document.body, {
      attributes: true,
      attributeFilter: ['class'],
    });
  }

  private button(label: string, title: string, onClick: () => void): HTMLElement {
    const b = document.createElement('vscode-button');
    b.setAttribute('secondary', '');
    b.setAttribute('title', title);
    b.setAttribute('aria-label', title);
    b.textContent = label;
    b.addEventListener('click', onClick);
    return b;
  }

  /** Shows only `rank`'s lanes (null: every rank's). */
  setRank(rank: number | null): void {
    this.lanes =
      rank === null ? this.report.timeline : this.report.timeline.filter((t) => t.rank === rank);
    this.showLanes();
    this.draw();
  }

  /** The lanes' labels, one per row of the canvas, and the canvas's description. */
  private showLanes(): void {
    const rankCount = this.report.summary.rankCount;
    this.labels.replaceChildren(
      ...this.lanes.map((t) => {
        const label = deviceLabel({ rank: t.rank, id: t.deviceId, name: t.name }, rankCount);
        const li = el('li', { class: 'timeline-lane', title: label }, label);
        // Through the CSSOM (the CSP allows no style attributes): a label row is a canvas row.
        li.style.height = `${ROW_H}px`;
        li.style.lineHeight = `${TRACK_H}px`;
        return li;
      }),
    );
    this.labels.style.paddingBottom = `${AXIS_H}px`;
    this.canvas.setAttribute('aria-label', this.describe());
    this.canvas.height = this.heightPx();
  }

  private describe(): string {
    const gaps = this.lanes.reduce((n, t) => n + (this.gapsByLane.get(laneKey(t))?.length ?? 0), 0);
    return (
      `GPU activity over ${formatNs(this.spanNs)} on ${this.lanes.length} lane(s), ` +
      `${gaps} idle gap(s) marked. Keys: plus and minus zoom, arrows pan, 0 resets.`
    );
  }

  private heightPx(): number {
    return Math.max(1, this.lanes.length) * ROW_H + AXIS_H;
  }

  private colour(cause: string): string {
    return causeColour(this.causes.indexOf(cause));
  }

  private legend(): HTMLElement | null {
    if (this.causes.length === 0) return el('p', { class: 'legend empty' }, 'No idle gaps found.');
    const items = this.causes.map((c) => {
      const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true', 'data-cause': c });
      return el('li', {}, swatch, c);
    });
    return el('ul', { class: 'legend', 'aria-label': 'Idle gap causes' }, ...items);
  }

  private setView(v: View): void {
    const width = Math.max(MIN_SPAN_FRACTION, Math.min(1, v.to - v.from));
    const from = Math.max(0, Math.min(1 - width, v.from));
    this.view = { from, to: from + width };
    this.store.set({ zoom: this.view });
    this.draw();
  }

  /** Scales the visible window by `factor` around `anchor` (0..1 across the plot). */
  private zoom(factor: number, anchor: number): void {
    const w = this.view.to - this.view.from;
    const at = this.view.from + anchor * w;
    const nw = w * factor;
    this.setView({ from: at - anchor * nw, to: at - anchor * nw + nw });
  }

  private pan(fraction: number): void {
    const w = this.view.to - this.view.from;
    this.setView({ from: this.view.from + fraction * w, to: this.view.to + fraction * w });
  }

  private plotX(e: MouseEvent): number {
    const r = this.canvas.getBoundingClientRect();
    return (e.clientX - r.left - LABEL_W) / Math.max(1, r.width - LABEL_W);
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) this.pan(e.deltaX / 500);
    else this.zoom(e.deltaY > 0 ? 1.25 : 0.8, Math.max(0, Math.min(1, this.plotX(e))));
  }

  private onKey(e: KeyboardEvent): void {
    const actions: Record<string, () => void> = {
      '+': () => this.zoom(0.5, 0.5),
      '=': () => this.zoom(0.5, 0.5),
      '-': () => this.zoom(2, 0.5),
      ArrowLeft: () => this.pan(-0.25),
      ArrowRight: () => this.pan(0.25),
      '0': () => this.setView({ from: 0, to: 1 }),
      Home: () => this.setView({ from: 0, to: 1 }),
    };
    const act = actions[e.key];
    if (!act) return;
    e.preventDefault();
    act();
  }

  /** The gap under the pointer, if any. */
  private gapAt(e: MouseEvent): GapStat | undefined {
    const r = this.canvas.getBoundingClientRect();
    const y = e.clientY - r.top;
    const lane = this.lanes[Math.floor(y / ROW_H)];
    if (!lane) return undefined;
    const t = this.timeAt(this.plotX(e));
    const slack =
      ((this.view.to - this.view.from) * this.spanNs * 2) / Math.max(1, r.width - LABEL_W);
    return this.gapsByLane
      .get(laneKey(lane))
      ?.find(
        (g) =>
          g.startNs - this.report.timelineStartNs - slack <= t &&
          t <= g.endNs - this.report.timelineStartNs + slack,
      );
  }

  private timeAt(x: number): number {
    return (this.view.from + x * (this.view.to - this.view.from)) * this.spanNs;
  }

  private onHover(e: MouseEvent): void {
    const g = this.gapAt(e);
    this.canvas.style.cursor = g?.location ? 'pointer' : 'default';
    this.canvas.title = g
      ? `Idle ${formatNs(g.endNs - g.startNs)}: ${g.cause}${g.location ? `\n${refLabel(g.location)} (click to reveal)` : ''}`
      : `${formatNs(this.timeAt(this.plotX(e)))} from the first GPU operation`;
  }

  /** Redraws the whole canvas at the device pixel ratio. */
  draw(): void {
    for (const s of this.element.querySelectorAll<HTMLElement>('.swatch'))
      s.style.background = this.colour(s.dataset.cause ?? '');
    const cssW = this.canvas.clientWidth;
    if (cssW === 0) return;
    const dpr = window.devicePixelRatio || 1;
    const cssH = this.heightPx();
    this.canvas.width = Math.round(cssW * dpr);
    this.canvas.height = Math.round(cssH * dpr);
    this.canvas.style.height = `${cssH}px`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    const fg = cssVar('--vscode-foreground', '#888');
    const font = cssVar('--vscode-font-family', 'sans-serif');
    ctx.font = `11px ${font}`;
    const plotW = cssW - LABEL_W;
    const v0 = this.view.from * this.spanNs;
    const vw = (this.view.to - this.view.from) * this.spanNs;
    const x = (ns: number) => LABEL_W + ((ns - v0) / vw) * plotW;
    const busy = cssVar('--vscode-charts-blue', '#1a85ff');
    const base = cssVar('--vscode-panel-border', '#80808059');
    this.lanes.forEach((t, row) => {
      const top = row * ROW_H;
      ctx.fillStyle = base;
      ctx.fillRect(LABEL_W, top + TRACK_H, plotW, 1);
      ctx.fillStyle = busy;
      const first = Math.max(0, Math.floor(v0 / t.bucketNs));
      const last = Math.min(t.busy.length, Math.ceil((v0 + vw) / t.bucketNs));
      for (let b = first; b < last; b++) {
        if (t.busy[b] <= 0) continue;
        const x0 = Math.max(LABEL_W, x(b * t.bucketNs));
        const w = Math.max(1, x((b + 1) * t.bucketNs) - x0);
        const h = Math.max(1, t.busy[b] * (TRACK_H - 2));
        ctx.fillRect(x0, top + TRACK_H - h, w, h);
      }
      for (const g of this.gapsByLane.get(laneKey(t)) ?? []) {
        const gx0 = x(g.startNs - this.report.timelineStartNs);
        const gx1 = x(g.endNs - this.report.timelineStartNs);
        if (gx1 < LABEL_W || gx0 > cssW) continue;
        ctx.fillStyle = this.colour(g.cause);
        const left = Math.max(LABEL_W, gx0);
        ctx.fillRect(left, top + TRACK_H + 3, Math.max(2, gx1 - left), GAP_H);
      }
    });
    this.drawAxis(ctx, cssW, cssH, v0, vw, fg, x);
  }

  private drawAxis(
    ctx: CanvasRenderingContext2D,
    cssW: number,
    cssH: number,
    v0: number,
    vw: number,
    fg: string,
    x: (ns: number) => number,
  ): void {
    const y = cssH - AXIS_H;
    ctx.fillStyle = fg;
    ctx.fillRect(LABEL_W, y, cssW - LABEL_W, 1);
    // About one tick per 110 px, on a 1-2-5 step.
    const raw = (vw * 110) / Math.max(1, cssW - LABEL_W);
    const mag = 10 ** Math.floor(Math.log10(Math.max(1, raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
    ctx.textBaseline = 'top';
    for (let t = Math.ceil(v0 / step) * step; t <= v0 + vw; t += step) {
      const tx = x(t);
      ctx.fillRect(tx, y, 1, 4);
      const label = formatNs(t);
      const w = ctx.measureText(label).width;
      ctx.fillText(label, Math.min(cssW - w - 2, Math.max(LABEL_W, tx - w / 2)), y + 5);
    }
    this.rangeLabel.textContent = `${formatNs(v0)} – ${formatNs(v0 + vw)} of ${formatNs(this.spanNs)}`;
  }
}

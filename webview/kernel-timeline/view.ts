/**
 * The panel's kernel timeline: a focusable canvas of stream, NVTX and CPU-launch lanes per rank and
 * GPU, drawn from window answers the extension fetches from the language server (never the whole
 * trace), with the Report's idle gaps coloured by cause. Wheel or +/− zoom, drag or ←/→ pan, 0 shows
 * the whole run, ↑/↓ pick a lane, ] and [ step through its ops, Enter opens the selected op's line.
 * Clicking an op shows it with its launching line and stack; clicking a gap its cause and line.
 */
import { shortKernelName } from '../../src/core/kernel-names';
import type { GapStat, Report, SourceRef } from '../../src/core/report-types';
import type {
  OpAnswer,
  TimelineAnswer,
  TimelineQuery,
  WindowAnswer,
} from '../../src/core/timeline-columns-types';
import { el } from '../dom';
import { renderGap, renderOp, type OpDetails } from './details';
import { themePalette } from './palette';
import {
  drawTimeline,
  heightOf,
  hitTest,
  LABEL_W,
  layoutRows,
  type Row,
  type Selection,
  type View,
} from './draw';

/** Asks the extension for a timeline answer; it comes back through `onAnswer`. */
export type TimelineAsk = (requestId: number, query: TimelineQuery) => void;

const MIN_SPAN_NS = 100;
/**
 * The window each trace was last shown at: the panel draws its Report again when it is brought
 * back (Show Bottleneck Report), and the timeline keeps its place.
 */
const lastView = new Map<string, { t0: number; t1: number }>();
/**
 * Request ids are unique across views: an answer still in flight for the view of a trace shown
 * before (the panel draws a new one per Report) never passes for an answer to the new one.
 */
let nextRequestId = 1;
export class KernelTimeline {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly details: HTMLElement;
  private readonly status: HTMLElement;
  private rows: Row[] = [];
  private answer: WindowAnswer | null = null;
  private view: View = { t0: 0, t1: 1, width: 600 };
  private span = 0;
  private baseNs = 0;
  private windowId = 0;
  private stepId = 0;
  private selection: Selection | null = null;
  /** The selected op as shown in the details (null: none, or a gap). */
  private selected: OpDetails | null = null;
  private focusLane = 0;
  private drag: { x: number; t0: number; t1: number; moved: boolean } | null = null;
  private suppressClick = false;
  private scheduled = false;

  constructor(
    private readonly report: Report,
    private readonly ask: TimelineAsk,
    private readonly reveal: (r: SourceRef) => void,
    private readonly showKernel: (name: string) => void,
  ) {
    const help = el(
      'p',
      { id: 'kt-help', class: 'kt-help' },
      'Kernel timeline. Wheel, plus or minus zoom; drag or left and right arrows pan; 0 shows the ' +
        'whole run; up and down arrows pick a lane; ] and [ step to the next or previous op; ' +
        'Enter opens the selected op’s launching line. Click an op or an idle gap for details.',
    );
    this.canvas = el('canvas', {
      class: 'kt-canvas',
      tabindex: '0',
      role: 'img',
      'aria-label': 'Kernel timeline: streams, NVTX and CPU launch lanes',
      'aria-describedby': 'kt-help',
      'aria-keyshortcuts': '+ - 0 ArrowLeft ArrowRight ArrowUp ArrowDown ] [ Enter',
    });
    this.status = el('p', { class: 'kt-status', role: 'status', 'aria-live': 'polite' });
    this.details = el('div', { class: 'kt-details', 'aria-live': 'polite' });
    this.element = el(
      'section',
      { class: 'kernel-timeline', 'aria-label': 'Kernel timeline' },
      el('h2', {}, 'Kernel timeline'),
      help,
      this.canvas,
      this.status,
      this.details,
    );
    this.canvas.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    // Pointer capture keeps a drag's moves on the canvas, so nothing is registered on the window
    // (the panel builds a new view for each Report it shows).
    this.canvas.addEventListener('pointerdown', (e) => this.onDown(e));
    this.canvas.addEventListener('pointermove', (e) => this.onMove(e));
    this.canvas.addEventListener('pointerup', () => {
      // A drag's pointerup is followed by a click on the canvas: that click is not a selection.
      this.suppressClick = this.drag?.moved === true;
      this.drag = null;
    });
    this.canvas.addEventListener('click', (e) => this.onClick(e));
    // A wider or narrower panel asks for as many pixels as the canvas now has.
    let width = 0;
    new ResizeObserver(() => {
      if (this.answer && this.canvas.clientWidth !== width) this.refetch();
      width = this.canvas.clientWidth;
    }).observe(this.canvas);
  }

  /** Asks for the whole run, or the window this trace was last shown at (the answer brings the lanes). */
  start(): void {
    const kept = lastView.get(this.report.source.path);
    this.view = { t0: 0, t1: Number.MAX_SAFE_INTEGER, ...kept, width: this.plotWidth() };
    this.fetch();
  }

  /** An answer from the extension (stale ones are dropped). */
  onAnswer(requestId: number, answer: TimelineAnswer | null): void {
    if (answer?.kind === 'op') {
      if (requestId === this.stepId) this.stepped(answer);
      return;
    }
    if (requestId !== this.windowId) return;
    if (!answer) {
      this.status.textContent =
        'No kernel timeline for this trace: it is kept only while the trace is shown (open the trace again to draw it).';
      return;
    }
    const first = this.answer === null;
    this.answer = answer;
    this.baseNs = answer.baseNs;
    this.span = answer.spanNs;
    if (first) {
      this.rows = layoutRows(answer.lanes);
      if (answer.lanes.length === 0)
        this.status.textContent = 'This trace has no GPU ops, NVTX ranges or launch calls to show.';
      // ] and [ step through kernels first: the first stream lane has the keyboard.
      this.focusLane = Math.max(
        0,
        answer.lanes.findIndex((l) => l.kind === 'stream'),
      );
      this.view = { t0: answer.t0, t1: answer.t1, width: this.plotWidth() };
      // Where things are drawn, for tests and tools (numbers and our own lane labels only).
      this.canvas.dataset.baseNs = String(answer.baseNs);
      this.canvas.dataset.plotLeft = String(LABEL_W);
      this.canvas.dataset.layout = JSON.stringify(
        this.rows.map((r) => ({
          row: r.type,
          label: r.type === 'lane' ? r.info.label : `GPU ${r.deviceId} idle`,
          y: r.y,
          h: r.h,
        })),
      );
    }
    this.canvas.dataset.plotWidth = String(this.view.width);
    this.canvas.dataset.t0 = String(answer.t0);
    this.canvas.dataset.t1 = String(answer.t1);
    this.draw();
  }

  private plotWidth(): number {
    return Math.max(100, Math.floor((this.canvas.clientWidth || 800) - LABEL_W));
  }

  private fetch(): void {
    this.windowId = nextRequestId++;
    this.ask(this.windowId, {
      kind: 'window',
      t0: this.view.t0,
      t1: this.view.t1,
      pixels: this.view.width,
    });
  }

  /** Redraws now and asks for the new window on the next frame (one request per frame). */
  private refetch(): void {
    this.view.width = this.plotWidth();
    this.draw();
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.fetch();
    });
  }

  private draw(): void {
    const width = this.view.width;
    const height = heightOf(this.rows);
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round((LABEL_W + width) * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.canvas.style.height = `${height}px`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    drawTimeline(
      ctx,
      this.view,
      this.rows,
      this.answer,
      this.report.gaps,
      themePalette(this.report.gaps),
      this.selection,
      shortKernelName,
      this.baseNs,
      this.focusLane,
    );
  }

  private setView(t0: number, t1: number): void {
    if (!this.answer) return; // the run's span comes with the first answer
    let span = Math.max(MIN_SPAN_NS, Math.min(this.span, t1 - t0));
    if (!(span > 0)) span = this.span;
    const from = Math.max(0, Math.min(this.span - span, t0));
    this.view = { t0: from, t1: from + span, width: this.plotWidth() };
    lastView.set(this.report.source.path, { t0: this.view.t0, t1: this.view.t1 });
    this.refetch();
  }

  private zoom(factor: number, at = 0.5): void {
    const { t0, t1 } = this.view;
    const pivot = t0 + (t1 - t0) * at;
    this.setView(pivot - (pivot - t0) * factor, pivot + (t1 - pivot) * factor);
  }

  private pan(fraction: number): void {
    const d = (this.view.t1 - this.view.t0) * fraction;
    this.setView(this.view.t0 + d, this.view.t1 + d);
  }

  /** The event's point in the canvas's content box (CSS px; the border excluded). */
  private at(e: MouseEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: e.clientX - r.left - this.canvas.clientLeft,
      y: e.clientY - r.top - this.canvas.clientTop,
    };
  }

  private plotFraction(e: MouseEvent): number {
    return Math.max(0, Math.min(1, (this.at(e).x - LABEL_W) / this.view.width));
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) this.pan(e.deltaX / 500);
    else this.zoom(e.deltaY > 0 ? 1.25 : 0.8, this.plotFraction(e));
  }

  private onDown(e: PointerEvent): void {
    if (e.button !== 0) return;
    this.drag = { x: e.clientX, t0: this.view.t0, t1: this.view.t1, moved: false };
    this.canvas.setPointerCapture(e.pointerId);
  }

  private onMove(e: PointerEvent): void {
    if (this.drag && (e.buttons & 1) === 1) {
      const dx = e.clientX - this.drag.x;
      if (Math.abs(dx) > 3) this.drag.moved = true;
      if (this.drag.moved) {
        const d = (-dx / this.view.width) * (this.drag.t1 - this.drag.t0);
        this.setView(this.drag.t0 + d, this.drag.t1 + d);
      }
    } else this.canvas.title = this.tooltip(e);
  }

  private hitAt(e: MouseEvent) {
    const p = this.at(e);
    return hitTest(p.x, p.y, this.view, this.rows, this.answer, this.report.gaps, this.baseNs);
  }

  private tooltip(e: MouseEvent): string {
    const hit = this.hitAt(e);
    const a = this.answer;
    if (!hit || !a) return '';
    if (hit.type === 'gap') return `Idle: ${hit.gap.cause}`;
    const row = a.rows.find((r) => r.lane === hit.lane)!;
    if (hit.type === 'op') return a.names[row.ops!.name[hit.k]] ?? '';
    const busy = Math.round(row.agg!.busy[hit.p] * 100);
    return `${busy}% busy; longest: ${shortKernelName(a.names[row.agg!.top[hit.p]] ?? '')} (click to zoom in)`;
  }

  private onClick(e: MouseEvent): void {
    if (this.suppressClick) {
      this.suppressClick = false;
      return;
    }
    this.canvas.focus();
    const hit = this.hitAt(e);
    if (!hit || !this.answer) return;
    if (hit.type === 'gap') this.showGap(hit.gap);
    else if (hit.type === 'pixel') this.zoom(1 / 8, this.plotFraction(e));
    else {
      const r = this.answer.rows.find((x) => x.lane === hit.lane)!;
      const o = r.ops!;
      this.focusLane = hit.lane;
      this.select({
        lane: hit.lane,
        index: o.index[hit.k],
        start: o.start[hit.k],
        end: o.end[hit.k],
        name: this.answer.names[o.name[hit.k]] ?? '',
        kind: o.kind[hit.k],
        site: o.site[hit.k] >= 0 ? (this.answer.sites[o.site[hit.k]] ?? null) : null,
      });
    }
  }

  private showGap(g: GapStat): void {
    this.selection = null;
    this.selected = null;
    this.details.replaceChildren(renderGap(g, this.baseNs, this.reveal));
    this.details.dataset.selected = 'gap';
    this.status.textContent = `Idle gap: ${g.cause}`;
    this.draw();
  }

  private select(op: OpDetails): void {
    this.selected = op;
    this.selection = { lane: op.lane, index: op.index };
    const lane = this.answer?.lanes[op.lane];
    this.details.replaceChildren(renderOp(op, lane?.label ?? '', this.reveal, this.showKernel));
    this.details.dataset.selected = 'op';
    const where = op.site?.line ? `, launched at ${op.site.line.file}:${op.site.line.line}` : '';
    this.status.textContent = `${shortKernelName(op.name)}${where}`;
    this.draw();
  }

  private onKey(e: KeyboardEvent): void {
    const lanes = this.answer?.lanes.length ?? 0;
    const handled = (() => {
      switch (e.key) {
        case '+':
        case '=':
          this.keyZoom(0.5);
          return true;
        case '-':
        case '_':
          this.keyZoom(2);
          return true;
        case '0':
        case 'Home':
          this.setView(0, this.span);
          return true;
        case 'ArrowLeft':
          this.pan(-0.2);
          return true;
        case 'ArrowRight':
          this.pan(0.2);
          return true;
        case 'ArrowUp':
        case 'ArrowDown':
          if (lanes === 0) return false;
          this.focusLane = (this.focusLane + (e.key === 'ArrowUp' ? lanes - 1 : 1)) % lanes;
          this.status.textContent = `Lane ${this.answer!.lanes[this.focusLane].label}`;
          this.draw();
          return true;
        case ']':
        case '[':
          this.step(e.key === ']' ? 1 : -1);
          return true;
        case 'Enter':
          if (this.selected?.site?.line && !this.selected.site.line.library)
            this.reveal(this.selected.site.line);
          return true;
        default:
          return false;
      }
    })();
    if (handled) e.preventDefault();
  }

  /** Zooms on the selected op, centred on it, when it is in view; else on the view's middle. */
  private keyZoom(factor: number): void {
    const s = this.selected;
    if (!s || s.end < this.view.t0 || s.start > this.view.t1) return this.zoom(factor);
    const half = ((this.view.t1 - this.view.t0) * factor) / 2;
    const mid = (s.start + s.end) / 2;
    this.setView(mid - half, mid + half);
  }

  /** Asks for the next (+1) or previous (−1) op of the focused lane, or the first in view. */
  private step(dir: 1 | -1): void {
    const s = this.selected;
    this.stepId = nextRequestId++;
    const query: TimelineQuery =
      s && s.lane === this.focusLane
        ? { kind: 'op', lane: this.focusLane, index: Math.max(0, s.index + dir) }
        : { kind: 'op', lane: this.focusLane, atNs: this.view.t0 };
    this.ask(this.stepId, query);
  }

  private stepped(a: OpAnswer): void {
    if (!a.op) {
      this.status.textContent = 'No more ops in this lane.';
      return;
    }
    const op = a.op;
    this.select({ lane: a.lane, ...op });
    // Keep the zoom; centre the op when it is out of view (zoom out when it is wider than it).
    if (op.start < this.view.t0 || op.end > this.view.t1) {
      const span = Math.max(this.view.t1 - this.view.t0, (op.end - op.start) * 1.5);
      const mid = (op.start + op.end) / 2;
      this.setView(mid - span / 2, mid + span / 2);
    }
  }
}

/** A real autograd-thread trace with its calling thread's side added, for the backward tests. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fixture } from './fixtures';
import { type TraceEvent, loadTrace } from './kineto-helpers';

/**
 * backward-thread.json (a real autograd-thread kernel) with the main thread's side added as a
 * with_stack trace has it: the forward op (same sequence number) under `model.py: forward`, and
 * the `torch/_tensor.py: backward` python_function around the `## backward ##` range.
 */
export function withMainThread(forward: boolean): string {
  const { top, events } = loadTrace(fixture('torch', 'backward-thread.json'));
  const range = events.find((e) => e.name === '## backward ##') as TraceEvent;
  const main = { ph: 'X', pid: 3914, tid: 3914 };
  const py = (id: number, parent: number | null, name: string, ts: number, dur: number) => ({
    ...main,
    cat: 'python_function',
    name,
    ts,
    dur,
    args: { 'Python id': id, 'Python parent id': parent },
  });
  const added: TraceEvent[] = [
    py(1, null, 'train.py(5): forward_step', 1666149715100000, 1000),
    py(2, 1, 'model.py(20): forward', 1666149715100100, 300),
    py(3, null, 'train.py(12): backward_step', (range.ts ?? 0) - 10, (range.dur ?? 0) + 20),
    py(4, 3, '/venv/lib/torch/_tensor.py(521): backward', range.ts ?? 0, range.dur ?? 0),
  ];
  if (forward)
    added.push(
      // The engine's CPU work can run on the calling thread too: that thread is still the caller.
      {
        ...main,
        cat: 'cpu_op',
        name: 'torch::autograd::AccumulateGrad',
        ts: (range.ts ?? 0) + 1,
        dur: 2,
        args: { 'Fwd thread id': 1, 'Sequence number': 1 },
      },
      {
        ...main,
        cat: 'cpu_op',
        name: 'aten::addmm',
        ts: 1666149715100160,
        dur: 50,
        args: { 'Sequence number': 714649 },
      },
    );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-bwd-'));
  fs.writeFileSync(path.join(dir, 'model.py'), '');
  fs.writeFileSync(path.join(dir, 'train.py'), '');
  const file = path.join(dir, 'trace.json');
  fs.writeFileSync(file, JSON.stringify({ ...top, traceEvents: [...events, ...added] }));
  return file;
}

/**
 * A small torch.profiler (Kineto) trace whose names are hostile to the editor: a 200 000-character
 * range name and function name, and `$(bug)`-style codicon syntax, all landing on lines of a
 * workspace file. Shared by the unit test of the annotations and the host test of the editor.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** 200 000 characters: far past any cap, as a name a hostile trace can carry. */
export const LONG = 'x'.repeat(200_000);
export const ICON_RANGE = '$(bug) decode $(zap~spin)';
export const LONG_RANGE = `prefill_${LONG}`;
/** The python_function's name: long, with icon syntax at its start. */
export const LONG_FUNCTION = `$(bug)serve_${LONG}`;
/** 1-based lines of serve.py: the icon-named range, and the f-string range + CPU operator. */
export const ICON_LINE = 3;
export const LONG_LINE = 5;

const SERVE = [
  'import nvtx, torch',
  'def serve(i):',
  `    with nvtx.annotate("${ICON_RANGE}"):`,
  '        pass',
  '    torch.cuda.nvtx.range_push(f"prefill_{i}")',
  '    torch.cuda.nvtx.range_pop()',
  '',
].join('\n');

/**
 * Writes serve.py and trace.json into `root`; returns the trace's path. The ranges run on a thread
 * without Python frames, so they are placed by searching serve.py for their names; the CPU
 * operator runs under the python_function frame at serve.py:5.
 */
export function writeLongNamesWorkspace(root: string): string {
  fs.writeFileSync(path.join(root, 'serve.py'), SERVE);
  const serve = path.join(root, 'serve.py');
  const traceEvents = [
    {
      ph: 'X',
      cat: 'python_function',
      name: `${serve}(${LONG_LINE}): ${LONG_FUNCTION}`,
      pid: 1,
      tid: 1,
      ts: 0,
      dur: 100,
      args: { 'Python id': 1, 'Python parent id': 0 },
    },
    { ph: 'X', cat: 'cpu_op', name: 'aten::add', pid: 1, tid: 1, ts: 10, dur: 20, args: {} },
    { ph: 'X', cat: 'user_annotation', name: ICON_RANGE, pid: 1, tid: 2, ts: 0, dur: 50 },
    { ph: 'X', cat: 'user_annotation', name: LONG_RANGE, pid: 1, tid: 2, ts: 60, dur: 30 },
  ];
  const trace = path.join(root, 'trace.json');
  fs.writeFileSync(trace, JSON.stringify({ schemaVersion: 1, traceEvents }));
  return trace;
}

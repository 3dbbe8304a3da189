/** Runs python/gpu_lens_edits.py as the editor does, and applies or reads back its edits. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './fixtures';

const SCRIPT = path.join(repoRoot, 'python', 'gpu_lens_edits.py');
export const PYTHON = '/usr/bin/python3';

export interface Edit {
  line: number;
  col: number;
  endLine: number;
  endCol: number;
  text: string;
}
export type Answer = { ok: true; title: string; edits: Edit[] } | { ok: false; reason: string };

/**
 * The script's answer for `kind` at `line`. `flags` are the interpreter's: `-I` as the extension
 * runs it; adding `-S` hides site-packages (and so the installed torch's version) from it.
 */
export function ask(source: string, line: number, kind: string, flags = ['-I']): Answer {
  const r = spawnSync(PYTHON, [...flags, SCRIPT], {
    input: JSON.stringify({ source, line, kind }),
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Answer;
}

/** Applies edits (UTF-16 columns, as the editor counts) from the last to the first. */
export function apply(source: string, edits: Edit[]): string {
  const lines = source.split('\n');
  const offset = (l: number, c: number) =>
    lines.slice(0, l - 1).reduce((n, x) => n + x.length + 1, 0) + c;
  let out = source;
  for (const e of [...edits].sort((a, b) => b.line - a.line || b.col - a.col))
    out = out.slice(0, offset(e.line, e.col)) + e.text + out.slice(offset(e.endLine, e.endCol));
  return out;
}

/** Keyword names and source of every call to `callee` in `source`, read by Python's ast. */
export function calls(source: string, callee: string): { keywords: Record<string, string> }[] {
  const program = `
import ast, json, sys
src = sys.stdin.read()
out = []
for n in ast.walk(ast.parse(src)):
    if isinstance(n, ast.Call):
        f = n.func
        name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
        if name == ${JSON.stringify(callee)}:
            out.append({"keywords": {k.arg: ast.get_source_segment(src, k.value) for k in n.keywords if k.arg}})
print(json.dumps(out))`;
  const r = spawnSync(PYTHON, ['-c', program], { input: source, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { keywords: Record<string, string> }[];
}

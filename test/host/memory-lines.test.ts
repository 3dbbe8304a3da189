/**
 * Host test: memory on the line in the editor. The CPU-only capture of test/workspace/torch_memory.py
 * with profile_memory (test/fixtures/memory) is opened; the hover of the line that allocates the
 * peak's largest buffer shows the bytes live from it at the peak and their share, and its CodeLens
 * names them — compared with the trace's own [memory] events (../unit/memory-walk.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ownFixture } from '../unit/fixtures';
import { loadTrace } from '../unit/kineto-helpers';
import { expected, markerLine } from '../unit/memory-walk';
import { hoverText, lensTitles, poll, workspaceFolder } from './helpers';

const TRACE = ownFixture('memory', 'torch-memory-cpu.json');
const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/** "1.25 MB" → bytes. */
function parseBytes(text: string): number {
  const m = /^([\d.]+) (B|KB|MB|GB)$/.exec(text.trim());
  assert.ok(m, `a byte count: ${text}`);
  return Number(m[1]) * UNITS[m[2]];
}

/** Equal to three significant digits (what the editor shows). */
function close(shown: number, want: number): boolean {
  return Math.abs(shown - want) <= 0.005 * Math.abs(want);
}

describe('memory on the line (CPU-only capture with profile_memory)', function () {
  this.timeout(120_000);
  let uri: vscode.Uri;
  let line: number;
  let want: { live: number; alloc: number; peak: number };

  before(async () => {
    const { events } = loadTrace(TRACE);
    const walk = expected(events, false, markerLine(events));
    // The line holding the most at the peak, by the raw events.
    const [key, top] = [...walk.lines].sort((a, b) => b[1].live - a[1].live)[0];
    const [file, l] = key.split(':');
    line = Number(l);
    want = { live: top.live, alloc: top.alloc, peak: walk.peakBytes };
    uri = vscode.Uri.file(path.join(workspaceFolder().uri.fsPath, file));
    assert.ok(fs.existsSync(uri.fsPath), `${file} is in the test workspace`);
    const result = await vscode.commands.executeCommand(
      'gpuLens.openTrace',
      vscode.Uri.file(TRACE),
    );
    assert.ok(result, 'gpuLens.openTrace should load the trace');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the hover shows the bytes allocated, live at the peak and their share', async () => {
    await vscode.workspace.openTextDocument(uri);
    const text = await poll(`a memory hover on line ${line}`, async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        uri,
        new vscode.Position(line - 1, 4),
      );
      const t = hoverText(hovers ?? []);
      return t.includes('Live at the memory peak') ? t : false;
    });
    const cell = (name: string) => new RegExp(`\\| ${name} \\| ([^|]+) \\|`).exec(text)?.[1];
    const allocated = cell('Memory allocated');
    assert.ok(allocated && close(parseBytes(allocated), want.alloc), `allocated: ${text}`);
    const m = /^(.+?) · ([\d.]+)% of host memory's (.+?) peak$/.exec(
      cell('Live at the memory peak')?.trim() ?? '',
    );
    assert.ok(m, `live at peak: ${text}`);
    assert.ok(close(parseBytes(m[1]), want.live), `live ${m[1]} vs ${want.live}`);
    // Shares are shown whole from 10 %, with one decimal below.
    assert.ok(Math.abs(Number(m[2]) - (100 * want.live) / want.peak) <= 0.5, `share ${m[2]}`);
    assert.ok(close(parseBytes(m[3]), want.peak), `peak ${m[3]} vs ${want.peak}`);
  });

  it('its CodeLens names the bytes it holds at the peak', async () => {
    const lenses = await poll(`a CodeLens on line ${line}`, async () => {
      const t = (await lensTitles(uri)).get(line);
      return t?.includes('at peak') ? t : false;
    });
    const m = /mem (.+?) at peak \(([\d.]+)%\)/.exec(lenses);
    assert.ok(m, lenses);
    assert.ok(close(parseBytes(m[1]), want.live), lenses);
  });
});

/** Helpers shared by the host tests: the extension's API, polling, settings. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GpuLensApi } from '../../src/extension/extension';

/** The activated extension's API. */
export async function gpuLens(): Promise<GpuLensApi> {
  const ext = vscode.extensions.getExtension<GpuLensApi>('gpu-lens.gpu-lens');
  assert.ok(ext, 'extension gpu-lens.gpu-lens is not installed in this host');
  return ext.isActive ? ext.exports : await ext.activate();
}

/** Polling, shared with the UI tests. */
export { poll } from '../poll';

/** The (single) workspace folder the host tests run in: test/workspace. */
export function workspaceFolder(): vscode.WorkspaceFolder {
  const f = vscode.workspace.workspaceFolders?.[0];
  assert.ok(f, 'the host tests need a workspace folder (test/workspace)');
  return f;
}

/** A fresh folder inside the workspace's git-ignored `.gpu-lens/` area. */
export function scratchFolder(name: string): string {
  const dir = path.join(
    workspaceFolder().uri.fsPath,
    '.gpu-lens',
    `${name}-${process.pid}-${Date.now()}`,
  );
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Sets a `gpuLens.*` setting in the user (global) scope for the test's duration: never in the
 * workspace's committed settings. Returns the restore function.
 */
export async function withSetting(key: string, value: unknown): Promise<() => Promise<void>> {
  const c = vscode.workspace.getConfiguration('gpuLens');
  const before = c.inspect(key)?.globalValue;
  await c.update(key, value, vscode.ConfigurationTarget.Global);
  return async () => {
    const now = vscode.workspace.getConfiguration('gpuLens');
    await now.update(key, before, vscode.ConfigurationTarget.Global);
  };
}

/** Text of a hover's contents. */
export function hoverText(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n');
}

/** Titles of the GPU Lens CodeLenses of a document, by 1-based line. */
export async function lensTitles(uri: vscode.Uri): Promise<Map<number, string>> {
  const lenses =
    (await vscode.commands.executeCommand<vscode.CodeLens[]>(
      'vscode.executeCodeLensProvider',
      uri,
    )) ?? [];
  const out = new Map<number, string>();
  for (const l of lenses) {
    if (l.command?.command === 'gpuLens.showReport')
      out.set(l.range.start.line + 1, l.command.title);
  }
  return out;
}

/** Pids of live processes whose command line contains `needle` (Linux /proc). */
export function processesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push(Number(e));
    } catch {
      // Ended while we looked.
    }
  }
  return out;
}

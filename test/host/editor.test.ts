/**
 * Host test: the editor features on a real H100 torch.profiler trace. The trace's stacks name
 * `moca/...` and `transformers/models/bert/modeling_bert.py` frames; the test writes those files
 * (with the recorded def lines) into a scratch folder of the workspace, maps the recorded prefixes
 * there with gpuLens.pathMap, opens the trace through the command, and checks CodeLens, hover and
 * diagnostics against its own walk of the trace's python_function tree (./trace-walk.ts).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { escapeMarkdown } from '../../src/core/markdown-text';
import { BERT_FILES, fixture } from '../unit/fixtures';
import { ReportRequest, type ReportResult } from '../../src/shared/protocol';
import { gpuLens, hoverText, lensTitles, poll, scratchFolder, withSetting } from './helpers';
import {
  pythonFrames,
  readEvents,
  showsDuration,
  walkTrace,
  writeRecordedFiles,
  type ExpectedLine,
} from './trace-walk';

const TRACE = fixture('torch', 'h100-bert-small-stack.json.gz');
/** Default gpuLens.hotLineThresholdPct. */
const HOT_PCT = 5;

const LENS = /^(⚠ stale[^·]*· )?GPU (.+?) self · (.+?) total · (\d+) kernels?/;

describe('editor features on a real GPU trace', function () {
  this.timeout(120_000);
  let root: string;
  let expected: ExpectedLine[];
  let busyNs: number;
  const restore: (() => Promise<void>)[] = [];
  const uriOf = (file: string) => vscode.Uri.file(path.join(root, file));

  before(async () => {
    const events = readEvents(TRACE);
    root = scratchFolder('editor-test');
    writeRecordedFiles(events, BERT_FILES, root);
    const walk = walkTrace(events, (f) => BERT_FILES.includes(f));
    expected = [...walk.lines.values()];
    busyNs = walk.gpuBusyNs;
    assert.ok(
      expected.some((l) => l.totalNs > 0),
      'the walk should put GPU time on the recreated files',
    );
    restore.push(
      await withSetting('pathMap', [`moca=${root}/moca`, `transformers=${root}/transformers`]),
    );
    const result = await vscode.commands.executeCommand<
      { summary: { kernelCount: number } } | undefined
    >('gpuLens.openTrace', vscode.Uri.file(TRACE));
    assert.ok(result, 'gpuLens.openTrace should load the trace');
    assert.equal(
      result.summary.kernelCount,
      readEvents(TRACE).filter((e) => e.cat === 'kernel').length,
    );
  });

  after(async () => {
    for (const r of restore.reverse()) await r();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(root, { recursive: true, force: true });
  });

  for (const file of BERT_FILES) {
    it(`CodeLens on ${path.basename(file)}: one per line with GPU time, with the walked figures`, async () => {
      const want = expected.filter((l) => l.file === file && l.totalNs > 0);
      await vscode.workspace.openTextDocument(uriOf(file));
      const lenses = await poll(`${want.length} CodeLenses on ${file}`, async () => {
        const m = await lensTitles(uriOf(file));
        return m.size === want.length ? m : false;
      });
      assert.deepEqual(
        [...lenses.keys()].sort((a, b) => a - b),
        want.map((l) => l.line).sort((a, b) => a - b),
      );
      for (const l of want) {
        const m = LENS.exec(lenses.get(l.line)!);
        assert.ok(m, `line ${l.line}: unexpected CodeLens "${lenses.get(l.line)}"`);
        assert.ok(
          showsDuration(m[2], l.selfNs),
          `line ${l.line}: self "${m[2]}" vs ${l.selfNs} ns`,
        );
        assert.ok(
          showsDuration(m[3], l.totalNs),
          `line ${l.line}: total "${m[3]}" vs ${l.totalNs} ns`,
        );
        assert.equal(Number(m[4]), l.kernelCount, `line ${l.line}: kernel count`);
      }
    });
  }

  it('hover on the hottest self line shows its GPU self/total time and kernel launches', async () => {
    const hottest = expected
      .filter((l) => l.file.endsWith('modeling_bert.py'))
      .sort((a, b) => b.selfNs - a.selfNs)[0];
    const uri = uriOf(hottest.file);
    await vscode.workspace.openTextDocument(uri);
    const text = await poll('a GPU Lens hover', async () => {
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
        'vscode.executeHoverProvider',
        uri,
        new vscode.Position(hottest.line - 1, 2),
      );
      const t = hoverText(hovers ?? []);
      return t.includes('GPU Lens') ? t : false;
    });
    const cell = (label: string) =>
      new RegExp(`\\| ${label} \\| ([^|]+) \\|`).exec(text)?.[1].trim();
    assert.ok(showsDuration(cell('GPU self') ?? '', hottest.selfNs), `hover self: ${text}`);
    assert.ok(showsDuration(cell('GPU total') ?? '', hottest.totalNs), `hover total: ${text}`);
    assert.equal(Number(cell('Kernel launches')), hottest.kernelCount);
    const heading = `**GPU Lens** · ${escapeMarkdown(hottest.function)}\n`;
    assert.ok(text.startsWith(heading), text.split('\n')[0]);
    // It links to the report at this line, and only that command is trusted.
    const link = /\(command:gpuLens\.showReport\?([^)]+)\)/.exec(text);
    assert.ok(link, 'the hover links to the report');
    assert.deepEqual(JSON.parse(decodeURIComponent(link[1])), [
      { file: vscode.workspace.asRelativePath(uri, false), line: hottest.line },
    ]);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(hottest.line - 1, 2),
    );
    const md = hovers
      .flatMap((h) => h.contents)
      .find(
        (c): c is vscode.MarkdownString =>
          c instanceof vscode.MarkdownString && c.value.includes('GPU Lens'),
      );
    assert.deepEqual(md?.isTrusted, { enabledCommands: ['gpuLens.showReport'] });
  });

  it('no hover and no CodeLens on a recorded def line without GPU time', async () => {
    const file = BERT_FILES[2];
    const hot = new Set(expected.filter((l) => l.file === file).map((l) => l.line));
    // e.g. transpose_for_scores: on the stack of CPU operators only, never of a GPU launch.
    const cold = pythonFrames(readEvents(TRACE)).find((f) => f.file === file && !hot.has(f.line));
    assert.ok(cold, `the fixture should record a ${file} frame that launches nothing`);
    const uri = uriOf(file);
    await vscode.workspace.openTextDocument(uri);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(cold.line - 1, 2),
    );
    assert.ok(
      !hoverText(hovers ?? []).includes('GPU Lens'),
      `line ${cold.line} should have no GPU Lens hover`,
    );
    assert.ok(!(await lensTitles(uri)).has(cold.line));
  });

  it('diagnostics mark the lines whose self time is at least 5% of GPU busy time', async () => {
    const file = BERT_FILES[2];
    const want = expected
      .filter((l) => l.file === file && (100 * l.selfNs) / busyNs >= HOT_PCT)
      .sort((a, b) => a.line - b.line);
    assert.ok(want.length > 0, 'the walk should find hot lines');
    const diags = await poll(`${want.length} hot-line diagnostics`, () => {
      const d = vscode.languages
        .getDiagnostics(uriOf(file))
        .filter(
          (x) =>
            x.source === 'GPU Lens' &&
            String(typeof x.code === 'object' ? x.code.value : x.code) === 'hot-line',
        );
      return d.length === want.length ? d : false;
    });
    const byLine = new Map(diags.map((d) => [d.range.start.line + 1, d]));
    for (const l of want) {
      const d = byLine.get(l.line);
      assert.ok(d, `line ${l.line} should carry a hot-line diagnostic`);
      const pct = Number(/([\d.]+)% of GPU busy time/.exec(d.message)?.[1]);
      assert.ok(Math.abs(pct - (100 * l.selfNs) / busyNs) <= 0.6, `line ${l.line}: ${d.message}`);
      assert.match(d.message, new RegExp(`${l.kernelCount} kernels`));
    }
  });

  it('a finding is one diagnostic per file (its other lines related), detailed in the hover', async () => {
    const client = await (await gpuLens()).client();
    const shown = await client.sendRequest<ReportResult | null>(ReportRequest, {});
    assert.ok(shown);
    const rel = (f: string) =>
      path.relative(root, path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, f));
    const multi = shown.report.findings.find(
      (f) => f.locations.length > 1 && BERT_FILES.includes(rel(f.locations[0].file)),
    );
    assert.ok(multi, 'the trace has a finding with several locations in the recreated files');
    const first = multi.locations[0];
    const uri = uriOf(rel(first.file));
    const mine = await poll(`one ${multi.rule} diagnostic`, () => {
      const d = vscode.languages
        .getDiagnostics(uri)
        .filter((x) => String(typeof x.code === 'object' ? x.code.value : x.code) === multi.rule);
      return d.length > 0 ? d : false;
    });
    assert.equal(mine.length, 1, 'one entry in Problems, not one per line');
    assert.equal(mine[0].range.start.line + 1, first.line);
    assert.deepEqual(
      (mine[0].relatedInformation ?? []).map((r) => r.location.range.start.line + 1),
      multi.locations.slice(1).map((l) => l.line),
    );
    assert.ok(mine[0].message.length < 300, `short: ${mine[0].message}`);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(first.line - 1, 2),
    );
    const text = hoverText(hovers ?? []);
    assert.match(text, /Self: GPU work launched while this line was the innermost workspace frame/);
    assert.ok(text.includes(escapeMarkdown(multi.message).slice(0, 40)), 'the finding explained');
  });

  it('CodeLens and diagnostics follow edits, hide on a changed line, and come back on undo', async () => {
    const file = BERT_FILES[2];
    const uri = uriOf(file);
    const before = await lensTitles(uri);
    assert.ok(before.size > 1 && [...before.values()].every((t) => !t.includes('stale')));
    const diagLines = () =>
      vscode.languages
        .getDiagnostics(uri)
        .filter((d) => d.source === 'GPU Lens')
        .map((d) => d.range.start.line + 1)
        .sort((a, b) => a - b);
    const diagsBefore = diagLines();
    const editor = await vscode.window.showTextDocument(uri);
    // Three lines inserted at the top: every mark moves down by three.
    await editor.edit((e) => e.insert(new vscode.Position(0, 0), '# one\n# two\n# three\n'));
    const moved = await poll('CodeLenses three lines down', async () => {
      const m = await lensTitles(uri);
      return [...m.keys()].join() === [...before.keys()].map((l) => l + 3).join() ? m : false;
    });
    for (const [line, title] of before) assert.equal(moved.get(line + 3), title);
    if (diagsBefore.length > 0)
      await poll('diagnostics three lines down', () =>
        diagLines().join() === diagsBefore.map((l) => l + 3).join() ? true : false,
      );
    // Changing an annotated line removes its mark (its figures described other code).
    const [first] = [...before.keys()];
    await editor.edit((e) => e.insert(new vscode.Position(first + 3 - 1, 0), 'changed = 1; '));
    await poll('the changed line loses its CodeLens', async () => {
      const m = await lensTitles(uri);
      return !m.has(first + 3) && m.size === before.size - 1 ? true : false;
    });
    // Undo both edits: the marks are back where they were, not stale.
    await vscode.commands.executeCommand('undo');
    await vscode.commands.executeCommand('undo');
    const back = await poll('CodeLenses back at their lines', async () => {
      const m = await lensTitles(uri);
      return [...m.keys()].join() === [...before.keys()].join() ? m : false;
    });
    assert.deepEqual([...back.values()], [...before.values()]);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      'vscode.executeHoverProvider',
      uri,
      new vscode.Position(first - 1, 2),
    );
    assert.doesNotMatch(hoverText(hovers ?? []), /changed since the capture/);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});

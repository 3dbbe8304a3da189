import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import Ajv from 'ajv';
import { loadTrace } from '../../src/core/load';
import { buildReport } from '../../src/core/report';
import { toSarif } from '../../src/core/export/sarif';
import { fixture } from './fixtures';
import { lineOf, readScenario, scenariosDir } from './rule-helpers';

/** The official SARIF 2.1.0 JSON schema, as shipped by @microsoft/jest-sarif. */
function sarifValidator() {
  const schemaPath = require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json');
  const schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  delete schema.$schema; // draft-07, Ajv's default meta-schema
  schema.$id = schema.id; // the file names its id in draft-04 style
  delete schema.id;
  // The schema's language-tag pattern is not valid in unicode mode; formats are not checked.
  return new Ajv({
    strict: false,
    allErrors: true,
    unicodeRegExp: false,
    validateFormats: false,
    logger: false,
  }).compile(schema);
}

/** Validated against the SARIF 2.1.0 schema, then checked for what GPU Lens promises in it. */
void test('sarif: tool-call finding of the scenario capture as a SARIF 2.1.0 result at the range line', () => {
  const profile = readScenario('sync_tool_call.sqlite');
  const report = buildReport(profile, { workspaceRoot: scenariosDir });
  const log = toSarif(report, { workspaceRoot: scenariosDir, toolVersion: '0.1.0' });
  const parsed = JSON.parse(JSON.stringify(log)) as typeof log;
  const validate = sarifValidator();
  assert.ok(validate(parsed), JSON.stringify(validate.errors?.slice(0, 3)));
  // The validator can fail: a result without its required message is rejected.
  const broken = JSON.parse(JSON.stringify(log)) as {
    runs: { results: { message?: unknown }[] }[];
  };
  delete broken.runs[0].results[0].message;
  assert.equal(validate(broken), false);
  assert.equal(parsed.version, '2.1.0');
  assert.match(parsed.$schema, /sarif-2\.1\.0/);
  assert.equal(parsed.runs.length, 1);
  const run = parsed.runs[0];
  assert.equal(run.tool.driver.name, 'GPU Lens');
  assert.ok(
    run.originalUriBaseIds.WORKSPACE.uri.startsWith('file:///') &&
      run.originalUriBaseIds.WORKSPACE.uri.endsWith('/'),
  );
  assert.equal(run.results.length, report.findings.length);
  for (const r of run.results) {
    assert.ok(['error', 'warning', 'note'].includes(r.level));
    assert.ok(r.message.text.length > 0);
    assert.equal(run.tool.driver.rules[r.ruleIndex].id, r.ruleId);
    for (const l of r.locations) {
      assert.ok(
        Number.isInteger(l.physicalLocation.region.startLine) &&
          l.physicalLocation.region.startLine >= 1,
      );
      assert.ok(!path.isAbsolute(l.physicalLocation.artifactLocation.uri));
    }
  }
  const tool = run.results.find((r) => r.ruleId === 'tool-call-gaps');
  assert.ok(tool);
  assert.deepEqual(tool.locations[0].physicalLocation, {
    artifactLocation: { uri: 'sync_tool_call.py', uriBaseId: 'WORKSPACE' },
    region: { startLine: lineOf('sync_tool_call.py', 'annotate("tool_call:lookup")') },
  });
  // Rule ids are unique in the driver.
  const ids = run.tool.driver.rules.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
});

void test('sarif: range names in message.markdown are escaped, never links, images or HTML', async () => {
  // A torch.profiler trace whose step ranges carry a link and an HTML image in their names; the
  // last step is 10x the others, so step-time quotes the slowest step's name in its message.
  const evil = '[link](https://evil.example/x) <img src=x onerror=alert(1)> `code` step ';
  const durs = [10_000, 10_000, 10_000, 10_000, 100_000];
  let ts = 1_000;
  const traceEvents = durs.map((dur, i) => {
    const e = { ph: 'X', cat: 'user_annotation', name: `${evil}${i}`, pid: 1, tid: 1, ts, dur };
    ts += dur + 100;
    return e;
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-sarif-'));
  const file = path.join(dir, 'trace.json');
  fs.writeFileSync(file, JSON.stringify({ schemaVersion: 1, traceEvents }));
  const report = buildReport(await loadTrace(file), { workspaceRoot: dir });
  const log = toSarif(report, { workspaceRoot: dir });
  const step = log.runs[0].results.find((r) => r.ruleId === 'step-time');
  assert.ok(step, JSON.stringify(report.findings.map((f) => f.rule)));
  // The plain text keeps the name as it is; the Markdown escapes what would render.
  assert.ok(step.message.text.includes(`${evil}4`), step.message.text);
  const md = step.message.markdown ?? '';
  assert.ok(md.includes('\\[link\\](https://evil.example/x) \\<img src=x onerror=alert(1)\\>'), md);
  assert.ok(md.includes('\\`code\\`'), md);
  for (const raw of ['[link](', '<img', ' `code`'])
    assert.ok(!md.replace(/\\./g, '').includes(raw), `${raw} unescaped in ${md}`);
});

/**
 * GitHub code scanning's rule on top of the schema: it rejects a whole log in which any result has
 * no location, and places a result only by an artifact URI and a region with a start line.
 */
function githubProblems(log: ReturnType<typeof toSarif>): string[] {
  const problems: string[] = [];
  log.runs[0].results.forEach((r, i) => {
    if (r.locations.length === 0) problems.push(`result ${i} (${r.ruleId}) has no location`);
    for (const l of r.locations) {
      if (!l.physicalLocation.artifactLocation.uri) problems.push(`result ${i}: empty uri`);
      if (!(l.physicalLocation.region.startLine >= 1)) problems.push(`result ${i}: no startLine`);
    }
  });
  return problems;
}

void test('sarif: findings of a trace whose code is elsewhere point at the trace file', async () => {
  // A real H100 trace analysed against an empty workspace: none of its frames is a workspace line.
  const source = fixture('torch', 'h100-bert-small-stack.json.gz');
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-sarif-ws-'));
  const inside = path.join(elsewhere, 'traces', 'bert.json.gz');
  fs.mkdirSync(path.dirname(inside));
  fs.copyFileSync(source, inside);
  const validate = sarifValidator();
  for (const [trace, uri, uriBaseId] of [
    [source, pathToFileURL(source).href, undefined],
    [inside, 'traces/bert.json.gz', 'WORKSPACE'],
  ] as const) {
    const report = buildReport(await loadTrace(trace), { workspaceRoot: elsewhere });
    const unlocated = report.findings.filter((f) => !f.locations.some((l) => l.line >= 1));
    assert.ok(unlocated.length > 0, 'the trace has findings without a source line');
    const log = JSON.parse(
      JSON.stringify(toSarif(report, { workspaceRoot: elsewhere })),
    ) as ReturnType<typeof toSarif>;
    assert.ok(validate(log), JSON.stringify(validate.errors?.slice(0, 3)));
    assert.deepEqual(githubProblems(log), []);
    assert.equal(log.runs[0].results.length, report.findings.length);
    report.findings.forEach((f, i) => {
      if (!unlocated.includes(f)) return;
      assert.deepEqual(log.runs[0].results[i].locations, [
        {
          physicalLocation: {
            artifactLocation: uriBaseId ? { uri, uriBaseId } : { uri },
            region: { startLine: 1 },
          },
        },
      ]);
    });
  }
  // The rule can fail: the log as it was written before, with empty locations, is refused.
  const report = buildReport(await loadTrace(source), { workspaceRoot: elsewhere });
  const old = toSarif(report, { workspaceRoot: elsewhere });
  for (const r of old.runs[0].results) r.locations = [];
  assert.ok(githubProblems(old).length > 0);
  fs.rmSync(elsewhere, { recursive: true, force: true });
});

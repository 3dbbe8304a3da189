/**
 * package.json declares the Language Model Tools that the extension registers: the declaration
 * (name, description, input schema) must be the one tool-specs.ts validates against, or VS Code
 * would offer a model a schema the tool then refuses.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { TOOL_SPECS } from '../../src/core/agent/tool-specs';
import { validateToolInput } from '../../src/core/agent/validate';
import { repoRoot } from './fixtures';

interface DeclaredTool {
  name: string;
  displayName: string;
  modelDescription: string;
  inputSchema: unknown;
}

const declared = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    contributes: { languageModelTools: DeclaredTool[] };
  }
).contributes.languageModelTools;

void test('package.json declares exactly the agent tools, with their schemas and descriptions', () => {
  assert.deepEqual(
    declared.map((t) => t.name),
    TOOL_SPECS.map((t) => t.name),
  );
  for (const spec of TOOL_SPECS) {
    const d = declared.find((t) => t.name === spec.name)!;
    assert.deepEqual(d.inputSchema, spec.inputSchema, spec.name);
    assert.equal(d.modelDescription, spec.description, spec.name);
    assert.equal(d.displayName, spec.title, spec.name);
  }
});

void test('inputs are checked against the schema: types, ranges, required and unknown arguments', () => {
  const explain = TOOL_SPECS.find((t) => t.name === 'gpulens_explain_line')!;
  assert.deepEqual(validateToolInput(explain, { file: 'a.py', line: 3 }), {
    file: 'a.py',
    line: 3,
  });
  assert.throws(() => validateToolInput(explain, { file: 'a.py', line: 0 }), /line must be >= 1/);
  assert.throws(() => validateToolInput(explain, { line: 2 }), /missing argument "file"/);
  assert.throws(
    () => validateToolInput(explain, { file: 'a.py', line: 2, x: 1 }),
    /unknown argument "x"/,
  );
  const hot = TOOL_SPECS.find((t) => t.name === 'gpulens_hot_lines')!;
  assert.throws(() => validateToolInput(hot, { limit: 500 }), /limit must be <= 50/);
  assert.throws(
    () => validateToolInput(hot, { sortBy: 'fastest' }),
    /sortBy must be equal to one of/,
  );
  assert.deepEqual(validateToolInput(hot, undefined), {});
});

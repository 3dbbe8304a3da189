/**
 * The import-direction lint rule (scripts/eslint/import-layers.mjs) through ESLint with the
 * repository's own eslint.config.mjs: deliberate violations fail lint, allowed imports pass, and a
 * src/core file placed in no layer is refused.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint, Linter } from 'eslint';

const ROOT = path.resolve(__dirname, '../../..');
const RULE = 'gpu-lens/import-layers';

// Type-aware rules of the full config need a TS program; these cases only need the layer rule,
// so the other rules are switched off (the config itself, and which files it covers, stay ours).
const eslint = new ESLint({ cwd: ROOT, ruleFilter: ({ ruleId }) => ruleId === RULE });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

void describe('import-layers lint rule', () => {
  void it('is on for every TypeScript file of src/ and webview/', async () => {
    for (const file of ['src/core/model.ts', 'src/server/server.ts', 'webview/main.ts']) {
      const config = (await eslint.calculateConfigForFile(path.join(ROOT, file))) as {
        rules: Record<string, unknown>;
      };
      assert.deepEqual(config.rules[RULE], [2], file);
    }
  });

  void it('fails an upward import: the model reading the report', async () => {
    const errors = await layerErrors(
      'src/core/model.ts',
      "import { buildReport } from './report';\nexport const x = buildReport;\n",
    );
    assert.equal(errors.length, 1);
    assert.match(
      errors[0],
      /src\/core\/model\.ts \(model\) may not import src\/core\/report\.ts \(report\)/,
    );
  });

  void it('fails sideways imports between ingest and attribute, and core reaching the server', async () => {
    assert.equal(
      (
        await layerErrors(
          'src/core/ingest/kineto.ts',
          "export { attributeLines } from '../attribute';\n",
        )
      ).length,
      1,
    );
    assert.equal(
      (
        await layerErrors(
          'src/core/rules/step-time.ts',
          "import type { X } from '../../server/server';\n",
        )
      ).length,
      1,
    );
    assert.equal(
      (await layerErrors('webview/main.ts', "import '../src/extension/panel';\n")).length,
      1,
    );
    assert.equal(
      (await layerErrors('src/server/annotations.ts', "import '../extension/client';\n")).length,
      1,
    );
  });

  void it('allows imports down the layers and within one', async () => {
    const ok = [
      ['src/core/rules/step-time.ts', "import { attributeLines } from '../attribute';"],
      ['src/core/report.ts', "import { runRules } from './rules/index';"],
      ['src/core/ingest/kineto.ts', "import type { Profile } from '../model';"],
      ['src/server/server.ts', "import { toMarkdown } from '../core/export/markdown';"],
      ['webview/tables.ts', "import type { Report } from '../src/core/report-types';"],
      ['src/core/model.ts', "import * as fs from 'node:fs';"],
    ];
    for (const [file, code] of ok) assert.deepEqual(await layerErrors(file, `${code}\n`), [], file);
  });

  void it('refuses a core file that belongs to no layer', async () => {
    // No such file exists (the typed parser would refuse a path outside the TS project), so the
    // config's own rule runs alone in a Linter.
    const config = (await eslint.calculateConfigForFile(path.join(ROOT, 'src/core/model.ts'))) as {
      plugins: Record<string, ESLint.Plugin>;
    };
    const linter = new Linter({ cwd: ROOT });
    const messages = linter.verify(
      'export const x = 1;\n',
      [
        {
          files: ['**/*.ts'],
          plugins: { 'gpu-lens': config.plugins['gpu-lens'] },
          rules: { [RULE]: 'error' },
        },
      ],
      { filename: path.join(ROOT, 'src/core/unplaced-module.ts') },
    );
    assert.equal(messages.length, 1);
    assert.match(messages[0].message, /src\/core\/unplaced-module\.ts is in no layer/);
  });
});

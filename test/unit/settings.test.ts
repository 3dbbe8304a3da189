/** package.json's `gpuLens.*` settings and the code's settings type stay in step. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SETTING_DEFAULTS } from '../../src/shared/settings';
import { repoRoot } from './fixtures';

interface Prop {
  default: unknown;
  properties?: Record<string, { default: unknown }>;
  scope?: string;
  markdownDescription?: string;
}

const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, Prop> } };
};
const declared = manifest.contributes.configuration.properties;

void test('every declared setting is read by the code, with the same default', () => {
  const keys = Object.keys(declared).map((k) => k.replace(/^gpuLens\./, ''));
  assert.deepEqual(keys.sort(), Object.keys(SETTING_DEFAULTS).sort());
  for (const [key, value] of Object.entries(SETTING_DEFAULTS)) {
    if (key === 'thresholds') continue;
    assert.deepEqual(declared[`gpuLens.${key}`].default, value, `default of gpuLens.${key}`);
  }
});

void test('every rule threshold is a setting with the rule default', () => {
  const props = declared['gpuLens.thresholds'].properties ?? {};
  assert.deepEqual(Object.keys(props).sort(), Object.keys(SETTING_DEFAULTS.thresholds).sort());
  for (const [key, value] of Object.entries(SETTING_DEFAULTS.thresholds)) {
    assert.equal(props[key].default, value, `default of gpuLens.thresholds.${key}`);
  }
});

void test('settings are documented and scoped', () => {
  for (const [key, p] of Object.entries(declared)) {
    assert.ok(p.markdownDescription, `${key} has a description`);
    assert.ok(p.scope, `${key} has a scope`);
  }
});

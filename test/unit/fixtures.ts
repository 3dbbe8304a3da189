/**
 * Locates the shared real-trace fixtures. They are third-party data, read in place and never copied
 * into the repo: `GPU_LENS_FIXTURES` names the folder, default `../shared/fixtures` beside the repo.
 * Missing fixtures fail loudly (never a silent skip).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');

export function fixturesDir(): string {
  const dir = process.env.GPU_LENS_FIXTURES ?? path.resolve(repoRoot, '..', 'shared', 'fixtures');
  if (!fs.existsSync(path.join(dir, 'SOURCES.md'))) {
    throw new Error(
      `GPU Lens fixtures not found at ${dir}. Set GPU_LENS_FIXTURES to the shared fixtures folder ` +
        `(the one holding SOURCES.md, nsys/ and torch/).`,
    );
  }
  return dir;
}

export function fixture(...parts: string[]): string {
  return path.join(fixturesDir(), ...parts);
}

/** Every fixture file of one kind ('nsys' → *.sqlite, 'torch' → *.json / *.json.gz). */
export function allFixtures(kind: 'nsys' | 'torch'): string[] {
  const dir = path.join(fixturesDir(), kind);
  return fs
    .readdirSync(dir)
    .filter((f) => (kind === 'nsys' ? f.endsWith('.sqlite') : /\.json(\.gz)?$/.test(f)))
    .map((f) => path.join(dir, f));
}

/** The repo's own captures (made by us, committed under test/fixtures). */
export function ownFixture(...parts: string[]): string {
  return path.join(repoRoot, 'test', 'fixtures', ...parts);
}

/**
 * The source files the H100 BERT trace (`torch/h100-bert-small-stack.json.gz`) records, relative to
 * its workspace: tests recreate them so the trace's frames resolve into a workspace.
 */
export const BERT_FILES = [
  'moca/library/model_hub/huggingface/model/adapters/text_base_model.py',
  'moca/library/profiling/profile.py',
  'transformers/models/bert/modeling_bert.py',
];

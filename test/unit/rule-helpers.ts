/**
 * Shared pieces of the rule tests: reading real traces, a rule context over a workspace folder,
 * SQL over nsys exports and line lookup in scenario scripts — the independent side of each check.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import type { Profile } from '../../src/core/model';
import { createRuleContext } from '../../src/core/rules/context';
import { readNsysSqlite } from '../../src/core/ingest/nsys-sqlite';
import { readKineto } from '../../src/core/ingest/kineto';
import type { RuleContext, Thresholds } from '../../src/core/rules/types';
import { fixture, ownFixture, repoRoot } from './fixtures';

export const scenariosDir = path.join(repoRoot, 'test', 'scenarios');

/** Reads a shared fixture ('nsys' | 'torch', file name) with the project's readers. */
export async function readFixture(kind: 'nsys' | 'torch', name: string): Promise<Profile> {
  const file = fixture(kind, name);
  return kind === 'nsys' ? readNsysSqlite(file) : readKineto(file);
}

/** Reads one of our own scenario captures (test/fixtures/scenarios). */
export function readScenario(name: string): Profile {
  return readNsysSqlite(ownFixture('scenarios', name));
}

/** A rule context over a workspace folder (empty temp folder by default: nothing locates). */
export function contextFor(
  profile: Profile,
  workspaceRoot?: string,
  thresholds?: Partial<Thresholds>,
): RuleContext {
  const root = workspaceRoot ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gl-rule-ws-'));
  return createRuleContext(profile, { workspaceRoot: root, thresholds });
}

/** A temp workspace holding the given relative files (each long enough for any line number). */
export function workspaceWith(files: string[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gl-rule-ws-'));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), '\n'.repeat(5000));
  }
  return root;
}

/** Runs SQL over a shared nsys fixture. */
export function sql<T>(name: string, query: string): T[] {
  return sqlOver<T>(fixture('nsys', name), query);
}

/** Runs SQL over one of our scenario captures. */
export function scenarioSql<T>(name: string, query: string): T[] {
  return sqlOver<T>(ownFixture('scenarios', name), query);
}

function sqlOver<T>(file: string, query: string): T[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(query).all() as T[];
  } finally {
    db.close();
  }
}

/** 1-based line of the first line of a scenario script containing `text`. */
export function lineOf(script: string, text: string): number {
  const lines = fs.readFileSync(path.join(scenariosDir, script), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`${text} not in ${script}`);
  return i + 1;
}

/** Union length of [start, end) intervals (independent of src/core/intervals). */
export function unionLength(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curS = -Infinity;
  let curE = -Infinity;
  for (const [s, e] of sorted) {
    if (s > curE) {
      if (curE > curS) total += curE - curS;
      curS = s;
      curE = e;
    } else if (e > curE) curE = e;
  }
  if (curE > curS) total += curE - curS;
  return total;
}

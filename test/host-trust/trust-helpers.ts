/** Helpers of the Workspace Trust host tests: the scenario's manifest, granting trust, ground truth. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import * as vscode from 'vscode';
import {
  ReportRequest,
  StatusRequest,
  type ReportResult,
  type StatusResult,
} from '../../src/shared/protocol';
import { gpuLens, poll } from '../host/helpers';
import type { TrustManifest, TrustScenario } from './workspaces';

/** The running scenario and the capture's SQLite export, from scripts/host-tests.mjs --trust. */
export function scenario(): { sqlitePath: string; s: TrustScenario } {
  const file = process.env.GPU_LENS_TRUST_MANIFEST;
  assert.ok(file, 'GPU_LENS_TRUST_MANIFEST is not set (run scripts/host-tests.mjs --trust)');
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as TrustManifest;
  const s = m.scenarios.find((x) => x.name === process.env.GPU_LENS_TRUST_SCENARIO);
  assert.ok(s, `no scenario ${process.env.GPU_LENS_TRUST_SCENARIO} in ${file}`);
  return { sqlitePath: m.sqlitePath, s };
}

/** The marker files that exist (a fake nsys ran), with what each recorded. */
export function markersLeft(s: TrustScenario): Record<string, string> {
  const left: Record<string, string> = {};
  for (const [who, file] of Object.entries(s.markers))
    if (fs.existsSync(file)) left[who] = fs.readFileSync(file, 'utf8').trim();
  return left;
}

/** The language server's status. */
export async function serverStatus(): Promise<StatusResult> {
  return (await (await gpuLens()).client()).sendRequest<StatusResult>(StatusRequest);
}

/** Number of NVTX push/pop ranges per name, by SQL over the capture's export. */
export function rangeCountsBySql(sqlitePath: string): Map<string, number> {
  const db = new Database(sqlitePath, { readonly: true });
  try {
    const rows = db
      .prepare(
        'SELECT text AS name, count(*) AS n FROM NVTX_EVENTS WHERE eventType = 59 AND end IS NOT NULL GROUP BY text',
      )
      .all() as { name: string; n: number }[];
    return new Map(rows.map((r) => [r.name, r.n]));
  } finally {
    db.close();
  }
}

/** Range counts of the Report the server holds for `id`. */
export async function rangeCountsOfReport(id: string): Promise<Map<string, number>> {
  const client = await (await gpuLens()).client();
  const r = await client.sendRequest<ReportResult | null>(ReportRequest, { id });
  assert.ok(r, `the server has no report ${id}`);
  return new Map(r.report.ranges.map((x) => [x.name, x.count]));
}

/**
 * Grants Workspace Trust as a user does: opens the Workspace Trust editor, and the runner
 * (scripts/host-tests.mjs --trust, watching the console for this line) clicks its Trust button.
 * Resolves once the extension host sees the workspace trusted.
 */
export async function grantTrust(): Promise<void> {
  await vscode.commands.executeCommand('workbench.trust.manage');
  console.log('[host-trust] grant trust');
  await poll('the workspace to be trusted', () => vscode.workspace.isTrusted, 60_000);
}

/** The server's view of the `gpuLens.*` settings, pulled per workspace folder. */
import { pathToFileURL } from 'node:url';
import type { Connection } from 'vscode-languageserver/node';
import type { Thresholds } from '../core/rules/types';
import { SETTING_DEFAULTS } from '../shared/settings';

export interface ServerSettings {
  pathMap: string[];
  nsysPath: string;
  hotLineThresholdPct: number;
  thresholds: Partial<Thresholds>;
}

interface RawSettings {
  pathMap?: unknown;
  nsysPath?: unknown;
  hotLineThresholdPct?: unknown;
  thresholds?: Record<string, unknown>;
}

const num = (v: unknown, d: number): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : d;

export async function readServerSettings(
  connection: Connection,
  folder: string,
): Promise<ServerSettings> {
  let raw: RawSettings = {};
  try {
    raw = ((await connection.workspace.getConfiguration({
      scopeUri: pathToFileURL(folder).toString(),
      section: 'gpuLens',
    })) ?? {}) as RawSettings;
  } catch {
    // A client without workspace/configuration: defaults apply.
  }
  const t = raw.thresholds ?? {};
  const thresholds: Partial<Thresholds> = {};
  for (const [k, v] of Object.entries(t))
    if (typeof v === 'number' && Number.isFinite(v)) thresholds[k as keyof Thresholds] = v;
  return {
    pathMap: Array.isArray(raw.pathMap)
      ? raw.pathMap.filter((e): e is string => typeof e === 'string')
      : [],
    nsysPath: typeof raw.nsysPath === 'string' ? raw.nsysPath : '',
    hotLineThresholdPct: num(raw.hotLineThresholdPct, SETTING_DEFAULTS.hotLineThresholdPct),
    thresholds,
  };
}

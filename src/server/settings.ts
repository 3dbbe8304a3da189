/**
 * The server's view of the `gpuLens.*` settings, pulled per workspace folder, and of the
 * workspace's trust, which the client tells it (`gpuLens/workspaceTrust`).
 */
import { pathToFileURL } from 'node:url';
import type { Connection } from 'vscode-languageserver/node';
import type { Thresholds } from '../core/rules/types';
import { SETTING_DEFAULTS } from '../shared/settings';

export interface ServerSettings {
  pathMap: string[];
  nsysPath: string;
  hotLineThresholdPct: number;
  libraryFallback: boolean;
  maxEvents: number;
  thresholds: Partial<Thresholds>;
}

interface RawSettings {
  pathMap?: unknown;
  nsysPath?: unknown;
  hotLineThresholdPct?: unknown;
  libraryFallback?: unknown;
  maxEvents?: unknown;
  thresholds?: Record<string, unknown>;
}

/**
 * Whether the workspace is trusted. False until the client says otherwise: while untrusted,
 * `nsysPath` is ignored whatever `workspace/configuration` answers, so only an nsys on PATH or
 * in the standard install folders exports `.nsys-rep` files.
 */
export const workspaceTrust = { trusted: false };

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
    // Defence in depth: VS Code already drops workspace values of restricted settings in
    // Restricted Mode, but the server does not run a program the configuration names then.
    nsysPath: workspaceTrust.trusted && typeof raw.nsysPath === 'string' ? raw.nsysPath : '',
    hotLineThresholdPct: num(raw.hotLineThresholdPct, SETTING_DEFAULTS.hotLineThresholdPct),
    libraryFallback:
      typeof raw.libraryFallback === 'boolean'
        ? raw.libraryFallback
        : SETTING_DEFAULTS.libraryFallback,
    // A budget below one event (or not a number) would refuse every trace: the default applies.
    maxEvents:
      typeof raw.maxEvents === 'number' && raw.maxEvents >= 1
        ? Math.floor(raw.maxEvents)
        : SETTING_DEFAULTS.maxEvents,
    thresholds,
  };
}

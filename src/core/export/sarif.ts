/**
 * Findings as a SARIF 2.1.0 log (what code-scanning services and SARIF viewers read). Workspace
 * paths are relative to the WORKSPACE base URI; paths outside the workspace become file URIs.
 * Every result has a location (a finding with no source line points at the trace file).
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Finding, Report, Severity, SourceRef } from '../report-types';
import { RULE_DESCRIPTIONS } from '../rules/index';
import { codeFence, escapeMarkdown } from '../markdown-text';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface SarifOptions {
  /** Absolute workspace root: the WORKSPACE base URI. */
  workspaceRoot: string;
  /** Tool version written to tool.driver.version. */
  toolVersion?: string;
}

/** The subset of SARIF 2.1.0 GPU Lens writes. */
export interface SarifLog {
  $schema: string;
  version: '2.1.0';
  runs: SarifRun[];
}

interface SarifRun {
  tool: {
    driver: {
      name: string;
      version?: string;
      informationUri?: string;
      rules: {
        id: string;
        name: string;
        shortDescription: { text: string };
        defaultConfiguration: { level: SarifLevel };
      }[];
    };
  };
  originalUriBaseIds: Record<string, { uri: string }>;
  artifacts?: { location: { uri: string; uriBaseId?: string } }[];
  results: SarifResult[];
  properties?: Record<string, unknown>;
}

type SarifLevel = 'error' | 'warning' | 'note';

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  message: { text: string; markdown?: string };
  locations: {
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId?: string };
      region: { startLine: number };
    };
  }[];
  properties: Record<string, unknown>;
}

const LEVEL: Record<Severity, SarifLevel> = { error: 'error', warning: 'warning', info: 'note' };

function artifactLocation(ref: SourceRef): { uri: string; uriBaseId?: string } {
  if (path.isAbsolute(ref.file)) return { uri: pathToFileURL(ref.file).href };
  // Workspace-relative paths are URI references resolved against WORKSPACE (RFC 3986).
  return { uri: ref.file.split('/').map(encodeURIComponent).join('/'), uriBaseId: 'WORKSPACE' };
}

/**
 * Where a finding without a source line points: the trace file itself, at its first line. GitHub
 * code scanning rejects a whole log in which any result has no location, and wants a region.
 */
function traceLocationOf(report: Report, workspaceRoot: string): SourceRef {
  const trace = path.resolve(report.source.path);
  const rel = path.relative(path.resolve(workspaceRoot), trace);
  const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  return { file: inside ? rel.split(path.sep).join('/') : trace, line: 1 };
}

function resultOf(f: Finding, ruleIndex: number, traceLocation: SourceRef): SarifResult {
  const savingsMs = (f.savingsNs / 1e6).toFixed(1);
  const sourceLines = f.locations.filter((l) => l.line >= 1);
  return {
    ruleId: f.rule,
    ruleIndex,
    level: LEVEL[f.severity],
    message: {
      text: `${f.title}. ${f.message} Fix: ${f.fix.title}.`,
      // Titles and messages quote kernel and range names: escaped as the Markdown export does,
      // so a name never renders as a link, an image or HTML in a SARIF viewer.
      markdown: [
        `**${escapeMarkdown(f.title)}**`,
        escapeMarkdown(f.message),
        `**Fix: ${escapeMarkdown(f.fix.title)}.** ${escapeMarkdown(f.fix.detail)}`,
        ...(f.fix.snippet ? [codeFence('python', f.fix.snippet)] : []),
      ].join('\n\n'),
    },
    locations: (sourceLines.length > 0 ? sourceLines : [traceLocation]).map((l) => ({
      physicalLocation: { artifactLocation: artifactLocation(l), region: { startLine: l.line } },
    })),
    properties: {
      savingsNs: f.savingsNs,
      savingsMs: Number(savingsMs),
      evidence: f.evidence,
      fix: f.fix,
    },
  };
}

/** Converts a Report's findings to a SARIF 2.1.0 log with one run. */
export function toSarif(report: Report, options: SarifOptions): SarifLog {
  const ruleIds = [...new Set(report.findings.map((f) => f.rule))];
  const rootUri = pathToFileURL(path.resolve(options.workspaceRoot)).href.replace(/\/?$/, '/');
  const traceLocation = traceLocationOf(report, options.workspaceRoot);
  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'GPU Lens',
            ...(options.toolVersion ? { version: options.toolVersion } : {}),
            rules: ruleIds.map((id) => {
              const first = report.findings.find((f) => f.rule === id);
              return {
                id,
                name: id.replace(/(^|-)(\w)/g, (_m, _d: string, c: string) => c.toUpperCase()),
                shortDescription: { text: RULE_DESCRIPTIONS[id] ?? first?.title ?? id },
                defaultConfiguration: { level: LEVEL[first?.severity ?? 'warning'] },
              };
            }),
          },
        },
        originalUriBaseIds: { WORKSPACE: { uri: rootUri } },
        results: report.findings.map((f) => resultOf(f, ruleIds.indexOf(f.rule), traceLocation)),
        properties: {
          trace: report.source.path,
          format: report.source.format,
          gpuActivePct: report.summary.gpuActivePct,
          classification: report.summary.classification,
        },
      },
    ],
  };
}

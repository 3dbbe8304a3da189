// ESLint rule `gpu-lens/import-layers`: data flows one way, and lint says so.
//
//   ingest → model ← attribute ← analyze (rules) ← report ← views (export, agent)
//                                                          ← server / extension / mcp / cli / webview
//
// Every TypeScript file under src/ and webview/ belongs to one layer (the first pattern that
// matches its path); a relative import may only reach its own layer or one the layer is allowed to
// read. A file under src/core that matches no pattern is an error too, so a new module has to be
// placed in a layer when it is added. Only relative specifiers are checked: packages are not layers.
import path from 'node:path';

/** Layers in order, each with the files it holds and the layers it may import from. */
export const LAYERS = [
  {
    name: 'model',
    files:
      /^src\/core\/(model|model-[\w-]+|report-types|format|intervals|kernel-names|executable-path|node-support|collectives|markdown-text|sorted-spans|collections|numbers|[\w-]+-types)\.ts$/,
    reads: [],
  },
  { name: 'ingest', files: /^src\/core\/(ingest\/.*|load)\.ts$/, reads: ['model'] },
  {
    name: 'attribute',
    files: /^src\/core\/(attribute|stack-resolver|range-sites|library-frames|workspace-paths)\.ts$/,
    reads: ['model'],
  },
  {
    name: 'analyze',
    files:
      /^src\/core\/(rules\/.*|replay[\w-]*|idle-breakdown|summary|memory-lines|path-hints|rank-spread|collective-arrivals|device-timelines|cpu-threads|profile-index|workload|timeline-columns[\w-]*|drilldown[\w-]*|call-tree[\w-]*)\.ts$/,
    reads: ['attribute', 'model'],
  },
  {
    name: 'report',
    files: /^src\/core\/(report|compare)\.ts$/,
    reads: ['analyze', 'attribute', 'model'],
  },
  {
    name: 'views',
    files: /^src\/core\/(export|agent)\/.*\.ts$/,
    reads: ['report', 'analyze', 'attribute', 'model'],
  },
  {
    // A trace loaded and reported in a worker thread (the server, the CLI and the MCP server).
    name: 'run',
    files: /^src\/core\/(analysis-runner|analyze-worker)\.ts$/,
    reads: ['report', 'analyze', 'attribute', 'ingest', 'model'],
  },
  { name: 'shared', files: /^src\/shared\/.*\.ts$/, reads: ['core'] },
  { name: 'server', files: /^src\/server\/.*\.ts$/, reads: ['shared', 'core'] },
  { name: 'extension', files: /^src\/extension\/.*\.ts$/, reads: ['shared', 'core'] },
  { name: 'mcp', files: /^src\/mcp\/.*\.ts$/, reads: ['shared', 'core'] },
  { name: 'cli', files: /^src\/cli[\w-]*\.ts$/, reads: ['mcp', 'shared', 'core'] },
  { name: 'webview', files: /^webview\/.*\.ts$/, reads: ['shared', 'report', 'model'] },
];

const CORE = ['model', 'ingest', 'attribute', 'analyze', 'report', 'views', 'run'];

/** The layer of a repository-relative path (forward slashes), or null. */
export function layerOf(relPath) {
  return LAYERS.find((l) => l.files.test(relPath)) ?? null;
}

function mayRead(from, to) {
  if (from.name === to.name) return true;
  return from.reads.includes(to.name) || (from.reads.includes('core') && CORE.includes(to.name));
}

/** @type {import('eslint').Rule.RuleModule} */
const importLayers = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Imports follow the layers: ingest → model ← attribute ← analyze ← report ← views',
    },
    schema: [],
    messages: {
      upward:
        '{{from}} ({{fromLayer}}) may not import {{to}} ({{toLayer}}): {{fromLayer}} reads only {{allowed}}. Move the shared piece down a layer.',
      unplaced:
        '{{from}} is in no layer: add it to LAYERS in scripts/eslint/import-layers.mjs so its imports are checked.',
    },
  },
  create(context) {
    const root = context.cwd;
    const rel = (abs) => path.relative(root, abs).split(path.sep).join('/');
    const from = rel(context.filename);
    const fromLayer = layerOf(from);
    if (!fromLayer) {
      if (from.startsWith('src/core/'))
        return {
          Program(node) {
            context.report({ node, messageId: 'unplaced', data: { from } });
          },
        };
      return {};
    }
    const check = (source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      let target = rel(path.resolve(path.dirname(context.filename), source.value));
      if (!path.extname(target)) target += '.ts';
      const toLayer = layerOf(target);
      if (!toLayer || mayRead(fromLayer, toLayer)) return;
      context.report({
        node: source,
        messageId: 'upward',
        data: {
          from,
          to: target,
          fromLayer: fromLayer.name,
          toLayer: toLayer.name,
          allowed: [fromLayer.name, ...fromLayer.reads].join(', '),
        },
      });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
    };
  },
};

export default { rules: { 'import-layers': importLayers } };

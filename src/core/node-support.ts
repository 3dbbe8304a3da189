/**
 * The oldest Node.js GPU Lens runs on. better-sqlite3 13 loads under Node 20 but crashes the process
 * (SIGSEGV) on the first database it opens, so the language server and the CLI check their Node at
 * start and say so instead. VS Code 1.101 is the first release whose extension host runs Node 22.
 */
export const MIN_NODE_MAJOR = 22;

/** A one-line explanation when `nodeVersion` (like `process.versions.node`) is too old, else undefined. */
export function unsupportedNodeMessage(nodeVersion: string, fix: string): string | undefined {
  const major = Number(nodeVersion.split('.')[0]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return (
    `GPU Lens needs Node.js ${MIN_NODE_MAJOR} or newer; this is Node ${nodeVersion}, ` +
    `on which its SQLite module crashes. ${fix}`
  );
}

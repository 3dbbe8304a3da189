/**
 * Server errors in the words users read. vscode-jsonrpc wraps an error a request handler throws as
 * "Request gpuLens/openTrace failed with message: …", and the client has its own protocol phrases
 * for a server that is gone; the client's sendRequest middleware (client.ts) rewrites them all here,
 * so every notification that shows `e.message` shows plain text. No `vscode` import: unit-tested.
 */

const SEE_OUTPUT = 'see Output → GPU Lens';

/** `message` without the JSON-RPC framing around the server's own words. */
export function plainErrorMessage(message: string): string {
  const wrapped = /^Request [^\s]+ failed with message: ([\s\S]*)$/.exec(message);
  if (wrapped) return wrapped[1];
  if (/^Request [^\s]+ failed unexpectedly without providing any details\.?$/.test(message))
    return `the GPU Lens server failed without saying why (${SEE_OUTPUT})`;
  if (/^Client is not running/.test(message) || /connection got disposed/i.test(message))
    return `the GPU Lens server is not running (${SEE_OUTPUT})`;
  return message;
}

/** The same error (class and code kept, for cancellation checks) with a plain message. */
export function plainRequestError(e: unknown): unknown {
  if (e instanceof Error) e.message = plainErrorMessage(e.message);
  return e;
}

/**
 * Server errors as the extension shows them: a real JSON-RPC round trip (vscode-jsonrpc, the library
 * under the language client and server) wraps a handler's error in protocol words; plainRequestError,
 * which the client's sendRequest middleware applies, gives back the server's own message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import {
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { plainErrorMessage, plainRequestError } from '../../src/extension/request-errors';

/** A client and a server connected back to back over in-memory streams. */
function pair() {
  const up = new PassThrough();
  const down = new PassThrough();
  const server = createMessageConnection(
    new StreamMessageReader(up),
    new StreamMessageWriter(down),
  );
  const client = createMessageConnection(
    new StreamMessageReader(down),
    new StreamMessageWriter(up),
  );
  server.listen();
  client.listen();
  return { server, client, dispose: () => (server.dispose(), client.dispose()) };
}

void test("a handler's error reaches the user as its own message, its code kept", async () => {
  const { server, client, dispose } = pair();
  const message =
    'trace.sqlite is not an Nsight Systems export (no TARGET_INFO_SESSION_START_TIME)';
  server.onRequest('gpuLens/openTrace', () => {
    throw new Error(message);
  });
  server.onRequest('gpuLens/silent', () => {
    // A handler that throws something other than an Error (what a native module may do).
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    throw 'not an Error';
  });
  try {
    const wrapped = await client.sendRequest('gpuLens/openTrace', {}).then(
      () => assert.fail('the request must fail'),
      (e: unknown) => e,
    );
    assert.ok(wrapped instanceof ResponseError);
    // What users saw before: the protocol's wording around the message.
    assert.match(wrapped.message, /^Request gpuLens\/openTrace failed with message: /);
    const plain = plainRequestError(wrapped);
    assert.ok(plain instanceof ResponseError && plain.code === wrapped.code);
    assert.equal(plain.message, message);

    const silent = (await client.sendRequest('gpuLens/silent').catch((e: unknown) => e)) as Error;
    assert.match(silent.message, /^Request gpuLens\/silent failed unexpectedly/);
    assert.equal(
      plainErrorMessage(silent.message),
      'the GPU Lens server failed without saying why (see Output → GPU Lens)',
    );
  } finally {
    dispose();
  }
});

void test('a server that is gone is said so; other messages are kept as they are', () => {
  for (const m of [
    'Client is not running',
    'Pending response rejected since connection got disposed',
  ])
    assert.equal(
      plainErrorMessage(m),
      'the GPU Lens server is not running (see Output → GPU Lens)',
    );
  for (const m of ['Request failed', 'cancelled', 'Request x failed with: y'])
    assert.equal(plainErrorMessage(m), m);
  const multi = 'Request gpuLens/compare failed with message: first line\nsecond line';
  assert.equal(plainErrorMessage(multi), 'first line\nsecond line');
});

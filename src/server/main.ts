/**
 * Entry point of the language server (dist/server.js). On a Node too old for better-sqlite3 (an
 * extension host before VS Code 1.101) it serves a stand-in that answers every request, and says
 * once at start, with the reason: the real server is never loaded, so it can never crash there.
 */
import {
  createConnection,
  ErrorCodes,
  ProposedFeatures,
  ResponseError,
} from 'vscode-languageserver/node';
import { unsupportedNodeMessage } from '../core/node-support';

const problem = unsupportedNodeMessage(
  process.versions.node,
  'Update VS Code to 1.101 or later (its extension host runs Node 22).',
);

if (problem) {
  const connection = createConnection(ProposedFeatures.all);
  connection.onInitialize(() => ({ capabilities: {} }));
  connection.onInitialized(() => void connection.window.showErrorMessage(problem));
  connection.onRequest(() => new ResponseError(ErrorCodes.InternalError, problem));
  connection.listen();
} else {
  // A dynamic import, so that esbuild keeps the real server's module code unevaluated until here.
  void import('./server');
}

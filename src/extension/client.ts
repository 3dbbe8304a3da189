/**
 * Starts the GPU Lens language server on first need (not at activation, which stays fast) and
 * restarts it cleanly: everything registered for one server run lives in its own disposable scope.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  TraceLoadedNotification,
  WorkspaceTrustNotification,
  type WorkspaceTrustParams,
} from '../shared/protocol';

export class ServerHandle implements vscode.Disposable {
  private starting: Promise<LanguageClient> | undefined;
  private readonly onLoadedEmitter = new vscode.EventEmitter<string>();
  /** Registrations that live as long as one server run. */
  private serverScope: vscode.Disposable[] = [];
  /** Fires with the trace id each time the server finishes loading a trace. */
  readonly onTraceLoaded = this.onLoadedEmitter.event;

  constructor(private readonly context: vscode.ExtensionContext) {}

  /** The running client, starting the server when it is not running yet. */
  client(): Promise<LanguageClient> {
    this.starting ??= this.start().catch((e: unknown) => {
      this.starting = undefined;
      throw e;
    });
    return this.starting;
  }

  isRunning(): boolean {
    return this.starting !== undefined;
  }

  private async start(): Promise<LanguageClient> {
    const module = this.context.asAbsolutePath(path.join('dist', 'server.js'));
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: {
        module,
        transport: TransportKind.ipc,
        options: { execArgv: ['--nolazy', '--inspect=6019'] },
      },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'python' }],
      synchronize: { configurationSection: 'gpuLens' },
      outputChannelName: 'GPU Lens',
      middleware: {
        // Hovers link to the report through a command URI: trust that one command, nothing else.
        provideHover: async (document, position, token, next) => {
          const hover = await next(document, position, token);
          for (const c of hover?.contents ?? []) {
            if (c instanceof vscode.MarkdownString)
              c.isTrusted = { enabledCommands: ['gpuLens.showReport'] };
          }
          return hover;
        },
      },
    };
    const client = new LanguageClient('gpuLens', 'GPU Lens', serverOptions, clientOptions);
    await client.start();
    // The server assumes an untrusted workspace until told; notifications arrive before any
    // later request, so no trace loads under a stale trust state.
    const sendTrust = () =>
      client.sendNotification(WorkspaceTrustNotification, {
        trusted: vscode.workspace.isTrusted,
      } satisfies WorkspaceTrustParams);
    await sendTrust();
    // Server-lifetime registrations: disposed with the client on stop/restart.
    this.serverScope.push(
      client.onNotification(TraceLoadedNotification, (p: { id: string }) =>
        this.onLoadedEmitter.fire(p.id),
      ),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void sendTrust()),
    );
    return client;
  }

  async dispose(): Promise<void> {
    const running = this.starting;
    this.starting = undefined;
    for (const d of this.serverScope.splice(0)) d.dispose();
    this.onLoadedEmitter.dispose();
    if (running) await (await running).stop();
  }
}

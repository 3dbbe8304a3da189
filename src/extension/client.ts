/**
 * Starts the GPU Lens language server on first need (not at activation, which stays fast) and
 * restarts it cleanly: everything registered for one server run lives in its own disposable scope.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
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
import { plainRequestError } from './request-errors';

export class ServerHandle implements vscode.Disposable {
  private starting: Promise<LanguageClient> | undefined;
  private readonly onLoadedEmitter = new vscode.EventEmitter<string>();
  /** Registrations that live as long as one server run. */
  private serverScope: vscode.Disposable[] = [];
  /** Fires with the trace id each time the server finishes loading a trace. */
  readonly onTraceLoaded = this.onLoadedEmitter.event;
  private readonly onStoppedEmitter = new vscode.EventEmitter<void>();
  /** Fires when the server exited on its own: what it showed is gone. */
  readonly onStopped = this.onStoppedEmitter.event;
  /** Traces being loaded now, and the last one asked for (what Retry loads after a crash). */
  private readonly loading = new Set<vscode.Uri>();
  private lastTrace: vscode.Uri | undefined;

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

  /**
   * Whether `e` is a request failing because the server went away: the connection's own texts
   * ("Pending response rejected since connection got disposed" …, or their plain form from
   * request-errors.ts) arrive before the close handler.
   */
  lostServer(e: unknown): boolean {
    const text = e instanceof Error ? e.message : String(e);
    return (
      !this.isRunning() ||
      /connection got disposed|connection is (disposed|closed)|client is not running|GPU Lens server is not running/i.test(
        text,
      )
    );
  }

  /** Marks `trace` as loading until the returned function is called (for the crash message). */
  loadingTrace(trace: vscode.Uri): () => void {
    this.loading.add(trace);
    this.lastTrace = trace;
    return () => this.loading.delete(trace);
  }

  /**
   * The server exited on its own (killed, or crashed): forget this run, so the next request starts
   * a fresh server, and say so in words, with Retry (restart it and load the trace again).
   */
  private stopped(): void {
    this.starting = undefined;
    for (const d of this.serverScope.splice(0)) d.dispose();
    const during = [...this.loading].map((u) => path.basename(u.fsPath));
    this.loading.clear();
    const trace = this.lastTrace;
    this.onStoppedEmitter.fire();
    const message =
      during.length > 0
        ? `GPU Lens: the language server stopped while loading ${during.join(', ')}. ` +
          'The GPU Lens output may say why.'
        : 'GPU Lens: the language server stopped unexpectedly. The GPU Lens output may say why.';
    void vscode.window.showErrorMessage(message, 'Retry').then(async (choice) => {
      if (choice !== 'Retry') return;
      if (trace) await vscode.commands.executeCommand('gpuLens.openTrace', trace);
      else await this.client();
    });
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
      // Our own words for a server that dies (not "Pending response rejected …"), and no silent
      // restart loop: the user chooses Retry.
      errorHandler: {
        error: (_e, _m, count) => ({
          action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
          handled: true,
        }),
        closed: () => {
          this.stopped();
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
      middleware: {
        // Every request's error reads as the server's own words, not JSON-RPC's wrapping.
        sendRequest: async (type, param, token, next) => {
          try {
            return await next(type, param, token);
          } catch (e) {
            throw plainRequestError(e);
          }
        },
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
    this.onStoppedEmitter.dispose();
    if (running) await (await running).stop();
  }
}

/**
 * When a trace was recorded elsewhere (most GPU time reached no workspace file), offers the
 * `gpuLens.pathMap` entry the server worked out, in one click. The server re-attributes the shown
 * trace when the setting changes.
 */
import * as vscode from 'vscode';

/** Internal command: appends a `FROM=TO` entry to a folder's gpuLens.pathMap. */
export const ADD_PATH_MAP_COMMAND = 'gpuLens.addPathMap';

export function registerPathMapCommand(): vscode.Disposable {
  return vscode.commands.registerCommand(
    ADD_PATH_MAP_COMMAND,
    async (entry: string, folderUri: vscode.Uri) => {
      const config = vscode.workspace.getConfiguration('gpuLens', folderUri);
      const current = config.get<string[]>('pathMap', []);
      if (current.includes(entry)) return false;
      // The folder's own settings: the mapping belongs to this checkout, not to the user.
      await config.update(
        'pathMap',
        [...current, entry],
        vscode.ConfigurationTarget.WorkspaceFolder,
      );
      return true;
    },
  );
}

/** Shows the suggestion with a button that adds it. */
export async function offerPathMap(folder: vscode.WorkspaceFolder, entry: string): Promise<void> {
  const [from, to] = [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)];
  const choice = await vscode.window.showInformationMessage(
    `GPU Lens: most GPU time in this trace was recorded under "${from}", which is not in this workspace. ` +
      `Map it to "${vscode.workspace.asRelativePath(to, false) || to}"?`,
    'Add path map',
  );
  if (choice === 'Add path map')
    await vscode.commands.executeCommand(ADD_PATH_MAP_COMMAND, entry, folder.uri);
}

/**
 * Reading a SQLite file without writing anything beside it. A read-only connection still creates
 * `-wal` and `-shm` files next to a database in WAL mode, and better-sqlite3 is built without URI
 * filenames (so no `?immutable=1`). nsys itself never writes WAL mode; a file that is in it is read
 * from a private copy in the temp folder, with its `-wal` (uncommitted pages) copied alongside.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The path to open, and what to call once the connection is closed. */
export interface ReadablePath {
  path: string;
  dispose: () => void;
}

/** True when the file's header says WAL mode (read and write format version 2). */
export function isWalMode(file: string): boolean {
  const head = Buffer.alloc(20);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return false; // the open that follows reports the problem
  }
  try {
    const n = fs.readSync(fd, head, 0, 20, 0);
    return n === 20 && (head[18] === 2 || head[19] === 2);
  } finally {
    fs.closeSync(fd);
  }
}

/** `file` itself, or a temp copy of it when opening it in place would create files beside it. */
export function readablePath(file: string): ReadablePath {
  if (!isWalMode(file)) return { path: file, dispose: () => undefined };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-lens-sqlite-'));
  const dispose = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const copy = path.join(dir, 'export.sqlite');
    fs.copyFileSync(file, copy);
    if (fs.existsSync(`${file}-wal`)) fs.copyFileSync(`${file}-wal`, `${copy}-wal`);
    return { path: copy, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

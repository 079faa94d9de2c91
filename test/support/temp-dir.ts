import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/**
 * A fresh directory under the system's temporary one, removed after the file's tests. The
 * removal retries, and asynchronously: a SQLite store's background checkpointer (a worker
 * thread with its own connection) can still create a `-wal` or `-shm` file while the
 * directory is emptied (ENOTEMPTY). The checkpointer of a database closed without
 * `store.close()` is stopped by a timer of the main thread, within a second; a synchronous
 * `rmSync` blocked that timer through all its retries (2.8 s), so the directory was never
 * empty when they ran out (a red CI run, issue #5).
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
  return dir;
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/**
 * A fresh directory under the system's temporary one, removed after the file's tests. The
 * removal retries: a SQLite store's background checkpointer (a worker thread with its own
 * connection) can still create a `-wal` or `-shm` file while the directory is emptied,
 * which made a plain `rmSync` fail the run with ENOTEMPTY.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 }));
  return dir;
}

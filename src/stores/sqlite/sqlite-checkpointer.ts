import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A running background checkpointer; {@link stop} ends it. */
export interface Checkpointer {
  stop(): Promise<void>;
}

// CommonJS, as an eval worker runs: the driver is required by the path resolved here.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const pageSize = db.pragma('page_size', { simple: true });
const limit = Math.max(1, Math.floor(workerData.walLimitBytes / pageSize));
let truncateAfter = 0;
const timer = setInterval(() => {
  try {
    const [passive] = db.pragma('wal_checkpoint(PASSIVE)');
    if (!passive || passive.log <= limit || Date.now() < truncateAfter) return;
    // Frames a reader's older snapshot still needs cannot be copied: TRUNCATE would only
    // make the writers wait for that reader.
    if (passive.checkpointed < passive.log) return;
    // TRUNCATE holds the write lock while it waits for readers: never long, and after a
    // refusal not again for a second.
    db.pragma('busy_timeout = 20');
    try {
      const [truncate] = db.pragma('wal_checkpoint(TRUNCATE)');
      if (!truncate || truncate.busy) truncateAfter = Date.now() + 1000;
    } finally {
      db.pragma('busy_timeout = 1000');
    }
  } catch {}
}, workerData.interval);
parentPort.once('message', () => {
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.postMessage('stopped');
});
`;

/**
 * Checkpoints a WAL database from a worker thread, with a connection of its own, every
 * `interval` ms: PASSIVE, so it never waits for the writer or makes it wait. A checkpoint
 * copies the WAL's pages into the database file and fsyncs both; run by SQLite on the
 * committing connection (its default, every 1,000 pages), that fsync stalls the event loop
 * of the server for milliseconds, every thousand-odd revocations (issue #5: revocation
 * at 10^5 tokens went from 0.40 to 0.65 of the baseline without it).
 *
 * The WAL starts over only when a write begins with every frame of it copied, and writes
 * that never pause for as long as a checkpoint takes (a steady 1,700 revocations a second
 * here) land frames during every PASSIVE one: the WAL grew by 7 MB a second, without end.
 * So once it holds more than `walLimitBytes`, the worker runs a TRUNCATE checkpoint, which
 * makes writers wait while it copies what is left and empties the file; the store's writes
 * wait for it on timers, and lookups go on. It is not tried while a reader's older snapshot
 * pins frames (it would hold the write lock waiting for that reader), it waits at most 20 ms
 * for readers, and after a refusal not again for a second. Answers `undefined`
 * when the driver cannot be found from here, and SQLite's own checkpoints stay on; calls
 * `onFailure` if the worker ends before it is stopped. Stops by itself within a second
 * once `isOpen` answers false.
 *
 * @see https://www.sqlite.org/wal.html#automatic_checkpoint
 */
export function startCheckpointer(
  file: string,
  interval: number,
  walLimitBytes: number,
  onFailure: () => void,
  isOpen: () => boolean = () => true,
): Checkpointer | undefined {
  let driver: string;
  try {
    driver = createRequire(import.meta.url).resolve('better-sqlite3');
  } catch {
    return undefined;
  }
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { file, driver, interval, walLimitBytes },
    // The worker's own module hooks are not needed, and a loader such as tsx would be
    // started again in it for nothing.
    execArgv: [],
  });
  // A store nobody closed must not keep the process alive.
  worker.unref();
  let stopped: Promise<void> | undefined;
  // A worker that dies on its own (its connection could not open, say) hands
  // checkpointing back to SQLite, so the WAL never grows without bound.
  worker.on('error', () => {});
  worker.once('exit', () => {
    if (!stopped) onFailure();
  });
  // The database closed without the store's close(): the worker's connection would keep
  // the file open and could create its -wal again, even after the file was deleted.
  const watch = setInterval(() => {
    if (!isOpen()) void checkpointer.stop();
  }, 1000);
  watch.unref();
  const checkpointer: Checkpointer = {
    stop() {
      clearInterval(watch);
      stopped ??= new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once('message', () => void worker.terminate().then(done, done));
        worker.once('exit', done);
        worker.postMessage('stop');
      });
      return stopped;
    },
  };
  return checkpointer;
}

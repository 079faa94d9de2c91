/**
 * The server under test, in a process of its own so that it never shares an event loop
 * with the load generator. The parent (bench/run.ts) drives it over IPC: start, seed,
 * purge, report CPU time, stop. Seeding goes through the store's `saveTokens` in bulk,
 * never through requests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '../src/adapters/node.js';
import { clientFromMetadata } from '../src/client-auth/client.js';
import { MemoryClientStore } from '../src/client-auth/client-store.js';
import { createRevocationEndpoint } from '../src/rfc7009/create-revocation-endpoint.js';
import { createIntrospectionEndpoint } from '../src/rfc7662/create-introspection-endpoint.js';
import { AuthorizationServer } from '../src/server/authorization-server.js';
import type { StoredToken, TokenStore } from '../src/stores/token-store.js';
import { type BaselineTokens, baselineFound, baselineHandler } from './baseline.js';
import {
  type OpenedBenchStore,
  openBenchStore,
  type StoreConfig,
  StoreNotAvailable,
} from './stores.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  cascadeTokens,
  digest,
  populationToken,
  revokedToken,
  tokenValue,
} from './tokens.js';

/** What the parent asks for. */
export type Command =
  | { cmd: 'start'; target: 'baseline' | StoreConfig }
  | { cmd: 'seed'; from: number; to: number }
  | { cmd: 'seedRevoked'; count: number }
  | { cmd: 'seedCascade'; grant: string; size: number }
  | { cmd: 'purge' }
  | { cmd: 'settle' }
  | { cmd: 'revokeGrantDirect'; grant: string }
  | { cmd: 'cpu' }
  | { cmd: 'stop' };

export interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
  notAvailable?: boolean;
}

/**
 * Tokens per `saveTokens` call and calls in flight, per store: each call must finish well
 * inside the store's own command timeout (5 s for Redis as revokit serve opens it).
 */
const SEEDING: Record<StoreConfig['name'], { batch: number; inFlight: number }> = {
  memory: { batch: 10_000, inFlight: 1 },
  sqlite: { batch: 10_000, inFlight: 1 },
  postgres: { batch: 5_000, inFlight: 2 },
  redis: { batch: 2_000, inFlight: 1 },
};
let seeding = SEEDING.memory;
let storeName: StoreConfig['name'] | undefined;

let http: Server | undefined;
let store: TokenStore | undefined;
let opened: OpenedBenchStore | undefined;
const baseline: BaselineTokens = new Map();

function now(): number {
  return Math.floor(Date.now() / 1000);
}

async function listen(server: Server): Promise<number> {
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return (server.address() as AddressInfo).port;
}

async function start(
  target: 'baseline' | StoreConfig,
): Promise<{ port: number; description: string }> {
  if (target === 'baseline') {
    http = createServer(baselineHandler(baseline));
    return { port: await listen(http), description: 'node:http baseline' };
  }
  opened = await openBenchStore(target);
  seeding = SEEDING[target.name];
  storeName = target.name;
  store = opened.store;
  const clients = new MemoryClientStore([
    await clientFromMetadata({
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  ]);
  const server = new AuthorizationServer({ clients });
  server.registerEndpoint(createRevocationEndpoint(store));
  server.registerEndpoint(createIntrospectionEndpoint(store));
  http = createServer(toNodeHandler(server));
  return { port: await listen(http), description: opened.description };
}

/**
 * One batch, tried again if it fails: on this VM an fsync can stall for seconds while every
 * store seeds at once, past Redis's 5 s command timeout, which would drop the store from
 * the run. `saveTokens` inserts only what is absent, so a retry adds what the failed try
 * did not; the count then leaves out what the failed try had written.
 */
async function saveBatch(batch: readonly StoredToken[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store!.saveTokens(batch);
    } catch (error) {
      if (attempt === 3) throw error;
      process.stderr.write(
        `${storeName}: a seeding batch failed (${(error as Error).message}); trying again\n`,
      );
    }
  }
}

/**
 * Saves tokens in batches, building the next batch while the store writes the ones in
 * flight (PostgreSQL: two at a time, overlapping a round trip with the next insert).
 */
async function saveAll(count: number, make: (i: number) => StoredToken): Promise<number> {
  const inFlight: (Promise<number> | number)[] = [];
  let inserted = 0;
  const { batch: size, inFlight: most } = seeding;
  for (let from = 0; from < count; from += size) {
    const batch: StoredToken[] = [];
    const to = Math.min(count, from + size);
    for (let i = from; i < to; i++) batch.push(make(i));
    inFlight.push(saveBatch(batch));
    if (inFlight.length >= most) inserted += await inFlight.shift()!;
  }
  for (const pending of inFlight) inserted += await pending;
  return inserted;
}

/**
 * Seeds population tokens `from` to `to` in digest order, as a bulk import sorted by key
 * would: every index then grows at its right edge instead of at random places, which is
 * what makes 10^7 tokens loadable in minutes rather than hours. Grant and subject names
 * follow the same order (four tokens a grant). Lookups are one index descent either way.
 */
async function seed(from: number, to: number): Promise<{ inserted: number; ms: number }> {
  const started = performance.now();
  const count = to - from;
  if (count >= 2 ** 24) throw new Error('seed at most 2^24 tokens at a time');
  const ids: string[] = new Array(count);
  // key = 29 bits of digest, then the offset (< 2^24): a numeric sort orders by digest.
  const keys = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const id = digest(tokenValue(from + k));
    ids[k] = id;
    keys[k] = (Number.parseInt(id.slice(0, 8), 16) >>> 3) * 2 ** 24 + k;
  }
  keys.sort();
  let inserted = 0;
  if (store) {
    const at = now();
    const tag = from.toString(36);
    inserted = await saveAll(count, (rank) => {
      const k = keys[rank]! % 2 ** 24;
      return {
        ...populationToken(from + k, at, ids[k]!),
        grantId: `grant-${tag}-${String(rank >> 2).padStart(8, '0')}`,
        sub: `user-${tag}-${String(rank >> 4).padStart(8, '0')}`,
      };
    });
  } else {
    for (let rank = 0; rank < count; rank++) {
      const id = ids[keys[rank]! % 2 ** 24]!;
      if (!baseline.has(id)) inserted++;
      baseline.set(id, false);
    }
  }
  return { inserted, ms: performance.now() - started };
}

/**
 * Lets the after-effects of a bulk load finish before anything is measured, so that they
 * do not land in another store's runs: the WAL checkpoint (SQLite), vacuum, statistics and
 * checkpoint (PostgreSQL, whose autovacuum would otherwise wake up a minute later), the
 * append-only file rewrite (Redis), and a full garbage collection of this process.
 */
async function settle(): Promise<void> {
  const kind = opened ? storeName : undefined;
  if (kind === 'sqlite') {
    (store as unknown as { db: { pragma(p: string): unknown } }).db.pragma(
      'wal_checkpoint(TRUNCATE)',
    );
  } else if (kind === 'postgres') {
    const { pool } = store as unknown as { pool: { query(q: string): Promise<unknown> } };
    await pool.query('VACUUM (ANALYZE)');
    await pool.query('CHECKPOINT');
  } else if (kind === 'redis') {
    const { redis } = store as unknown as {
      redis: { bgrewriteaof(): Promise<unknown>; info(section: string): Promise<string> };
    };
    await redis.bgrewriteaof().catch(() => {});
    for (;;) {
      const info = await redis.info('persistence');
      if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  (globalThis as { gc?: () => void }).gc?.();
}

async function handle(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'start':
      return start(command.target);
    case 'seed':
      return seed(command.from, command.to);
    case 'seedRevoked': {
      if (!store) return { inserted: 0 };
      const at = now();
      return { inserted: await saveAll(command.count, (i) => revokedToken(i, at)) };
    }
    case 'seedCascade': {
      if (!store) return { inserted: 0 };
      const tokens = cascadeTokens(command.grant, command.size, now());
      return { inserted: await saveAll(tokens.length, (i) => tokens[i]!) };
    }
    case 'revokeGrantDirect': {
      const started = performance.now();
      const count = await store!.revokeGrant(`cascade-${command.grant}`, now());
      return { count, ms: performance.now() - started };
    }
    case 'settle': {
      const started = performance.now();
      await settle();
      return { ms: performance.now() - started };
    }
    case 'purge': {
      const started = performance.now();
      if (!store) {
        baseline.clear();
        return { deleted: 0, ms: 0 };
      }
      if (!store.purge) throw new Error('this store cannot purge');
      const deleted = await store.purge({ expiredBefore: now() + 10 * 86_400, batchSize: 50_000 });
      return { deleted, ms: performance.now() - started };
    }
    case 'cpu': {
      const usage = process.cpuUsage();
      return {
        cpuMs: (usage.user + usage.system) / 1000,
        wallMs: performance.now(),
        rssMb: process.memoryUsage.rss() / 2 ** 20,
        found: baselineFound(),
      };
    }
    case 'stop': {
      await new Promise<void>((resolve) => {
        if (!http) return resolve();
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await opened?.close();
      setImmediate(() => process.exit(0));
      return {};
    }
  }
}

process.on('message', (message: { id: number } & Command) => {
  handle(message).then(
    (result) => process.send!({ id: message.id, ok: true, result } satisfies Reply),
    (error: unknown) =>
      process.send!({
        id: message.id,
        ok: false,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        notAvailable: error instanceof StoreNotAvailable,
      } satisfies Reply),
  );
});
process.on('disconnect', () => process.exit(0));

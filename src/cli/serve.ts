import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { nodeServerOptions, serveOn } from '../adapters/node-server.js';
import { clientFromMetadata } from '../client-auth/client.js';
import type { ReplayCache } from '../client-auth/jti-cache.js';
import { createRevocationEndpoint } from '../rfc7009/create-revocation-endpoint.js';
import { createIntrospectionEndpoint } from '../rfc7662/create-introspection-endpoint.js';
import { AuthorizationServer } from '../server/authorization-server.js';
import { CliError } from './cli-error.js';
import type { Logger } from './logger.js';
import { DEFAULT_STORE_TIMEOUT, type OpenedStore, openStore, storeLimits } from './open-store.js';
import { parseSeed, type Seed, SeedError, seedTokens } from './seed.js';

/** Options of `revokit serve`. */
export interface ServeOptions {
  host: string;
  port: number;
  seed?: string | undefined;
  /** A `--store` URL (see {@link openStore}). */
  store: string;
  /** Redis: seconds a token is kept after it ends (default 7 days). */
  retention?: number | undefined;
  issuer?: string | undefined;
  corsOrigins: string[];
  foreignToken: 'refuse' | 'ignore';
  revokeRefreshWithAccess: boolean;
  /** Introspection's `publicClients` policy (default `'refuse'`). */
  publicIntrospection?: 'refuse' | 'own-tokens' | undefined;
  /**
   * How long the endpoints wait for the store before answering 503, in ms (default 5000,
   * from {@link MIN_STORE_TIMEOUT} to {@link MAX_STORE_TIMEOUT}). The store's own limits
   * are derived from it, so that a revocation answered 503 is not committed afterwards:
   * PostgreSQL's wait for a batch slot a tenth of it and its `statement_timeout` the rest
   * less half a second, Redis's command timeout at it, SQLite's lock wait at most 2000 ms
   * and half a second below it.
   */
  storeTimeout?: number | undefined;
}

/** The shortest `--store-timeout`: 1300 ms for the statement, the rest for waits. */
export const MIN_STORE_TIMEOUT = 2000;
/** The longest `--store-timeout`: past a minute, a client has long given up. */
export const MAX_STORE_TIMEOUT = 60_000;
/** A running `revokit serve`. */
export interface RunningServer {
  readonly url: string;
  readonly http: Server;
  close(): Promise<void>;
}

/**
 * Reads and checks a seed file; every problem is a {@link CliError} with exit status 2.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export async function loadSeed(path: string): Promise<Seed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(
      `seed file ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CliError(`seed file ${path}: not valid JSON (${(error as Error).message})`);
  }
  try {
    return parseSeed(json);
  } catch (error) {
    if (error instanceof SeedError) throw new CliError(`seed file ${path}: ${error.message}`);
    throw error;
  }
}

/**
 * Starts the revocation, introspection and metadata endpoints on `node:http`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export async function serve(options: ServeOptions, logger: Logger): Promise<RunningServer> {
  const seed = options.seed ? await loadSeed(options.seed) : undefined;
  const store = await openStore(options.store, {
    logger,
    retention: options.retention,
    ...storeLimits(options.storeTimeout ?? DEFAULT_STORE_TIMEOUT),
  });
  try {
    return await start(options, logger, store, seed);
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

/**
 * Loads a seed into the stores, idempotently: a client or token already stored is not
 * added twice, a token is stored once in the store's life (even once purged), a revoked
 * token is never un-revoked, and a seeded client that differs from the stored one
 * replaces it with a warning naming it (never its secret).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export async function applySeed(seed: Seed, store: OpenedStore, logger: Logger): Promise<void> {
  const counts = { inserted: 0, unchanged: 0, updated: 0 };
  try {
    for (const metadata of seed.clients) {
      const client = await clientFromMetadata(metadata);
      const result = await store.clients.saveClient(client);
      counts[result]++;
      if (result === 'updated') {
        logger.warn(
          'the seed changes a stored client (its secret or settings); the seed replaces it',
          { client_id: client.clientId },
        );
      }
    }
    const tokens = await seedTokens(seed.tokens, Math.floor(Date.now() / 1000));
    // Once in the store's life: a seed applied at every start must not bring back a token
    // that purge deleted once it was revoked.
    const inserted = await (store.tokens.saveTokensOnce
      ? store.tokens.saveTokensOnce(tokens)
      : store.tokens.saveTokens(tokens));
    // Tokens, not entries: an entry may hold an access token and a refresh token.
    logger.info('seed loaded', {
      clients: seed.clients.length,
      clients_inserted: counts.inserted,
      clients_updated: counts.updated,
      tokens: tokens.length,
      tokens_inserted: inserted,
    });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `store ${store.description}: the seed could not be saved (${(error as Error)?.message ?? error})`,
      1,
    );
  }
}

/** How long shutting down waits for the store to close: a pool waits for its queries. */
const STORE_CLOSE_DEADLINE = 5000;

/**
 * Closes the store, or gives up after {@link STORE_CLOSE_DEADLINE}: a query stuck on a
 * database that stopped answering would otherwise keep a stopped server from exiting.
 */
async function closeStore(store: OpenedStore, logger: Logger): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STORE_CLOSE_DEADLINE);
  });
  try {
    const closed = store.close().then(
      () => 'closed' as const,
      () => 'closed' as const,
    );
    if ((await Promise.race([closed, deadline])) === 'late') {
      logger.warn('the store did not close in time; exiting without waiting for it', {
        store: store.description,
        waited_ms: STORE_CLOSE_DEADLINE,
      });
    }
  } finally {
    clearTimeout(timer);
  }
}

async function start(
  options: ServeOptions,
  logger: Logger,
  store: OpenedStore,
  seed: Seed | undefined,
): Promise<RunningServer> {
  if (store.warning) logger.warn(store.warning, { store: store.description });
  const clients = store.clients;
  if (seed) await applySeed(seed, store, logger);
  if (!seed && store.kind === 'memory') {
    logger.warn(
      'no clients are registered, so every request answers invalid_client; add clients with --seed FILE (see examples/seed.json)',
    );
  } else if (!seed) {
    // Redis cannot tell without walking its keys: it says nothing either way.
    const any = await store.hasClients?.().catch(() => undefined);
    if (any === false) {
      logger.warn(
        'no --seed and no clients in the store, so every request answers invalid_client; add clients with --seed FILE (see examples/seed.json)',
        { store: store.description },
      );
    } else {
      logger.info('no --seed: the clients already in the store are the ones registered', {
        store: store.description,
      });
    }
  }

  // Listening first: the issuer names the address, and port 0 picks it.
  const http = createServer(nodeServerOptions());
  await new Promise<void>((resolve, reject) => {
    http.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          `cannot listen on ${options.host}:${options.port} (${error.code ?? error.message})`,
          1,
        ),
      ),
    );
    http.listen(options.port, options.host, resolve);
  });
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  if (!options.issuer && (address.address === '0.0.0.0' || address.address === '::')) {
    logger.warn(
      `no --issuer on a wildcard address: the metadata names ${url} as the issuer, and client assertions must name it as their audience; pass --issuer with the URL clients use`,
    );
  }
  const tokens = store.tokens as typeof store.tokens & Partial<ReplayCache>;
  const server = new AuthorizationServer({
    clients,
    // The store's, so that every server sharing it accepts a client assertion once.
    replayCache: tokens.rememberAssertion ? (tokens as ReplayCache) : undefined,
    issuer: options.issuer ?? url,
    storeTimeout: options.storeTimeout ?? DEFAULT_STORE_TIMEOUT,
    cors: options.corsOrigins.length ? { origins: options.corsOrigins } : undefined,
  });
  server.registerEndpoint(
    createRevocationEndpoint(store.tokens, {
      foreignToken: options.foreignToken,
      revokeRefreshWithAccess: options.revokeRefreshWithAccess,
    }),
  );
  server.registerEndpoint(
    createIntrospectionEndpoint(store.tokens, {
      foreignTokens: 'resource-servers',
      publicClients: options.publicIntrospection ?? 'refuse',
    }),
  );
  server.on('response', (event) =>
    logger.info('request', {
      method: event.method,
      path: event.path,
      status: event.status,
      client_id: event.clientId,
      duration_ms: Math.round(event.durationMs * 1000) / 1000,
    }),
  );
  server.on('error', (event) =>
    logger.error('request failed', {
      endpoint: event.endpoint,
      error:
        event.error instanceof Error ? `${event.error.name}: ${event.error.message}` : 'unknown',
    }),
  );

  serveOn(http, server, {
    onRefused: (refusal) =>
      logger.info('request refused', { status: refusal.status, reason: refusal.reason }),
  });
  logger.info('listening', { url, store: store.description });

  let closing: Promise<void> | undefined;
  return {
    url,
    http,
    close() {
      closing ??= new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
        setTimeout(() => http.closeAllConnections(), 2000).unref();
      }).then(() => closeStore(store, logger));
      return closing;
    },
  };
}

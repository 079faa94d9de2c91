import { readFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '../adapters/node.js';
import { MemoryClientStore } from '../client-auth/client-store.js';
import { createRevocationEndpoint } from '../rfc7009/create-revocation-endpoint.js';
import { createIntrospectionEndpoint } from '../rfc7662/create-introspection-endpoint.js';
import { AuthorizationServer } from '../server/authorization-server.js';
import { CliError } from './cli-error.js';
import type { Logger } from './logger.js';
import { openStore } from './open-store.js';
import { type Seed, SeedError, parseSeed, seedTokens } from './seed.js';

/** Options of `revokit serve`. */
export interface ServeOptions {
  host: string;
  port: number;
  seed?: string | undefined;
  store: string;
  issuer?: string | undefined;
  corsOrigins: string[];
  foreignToken: 'refuse' | 'ignore';
  revokeRefreshWithAccess: boolean;
}

/** A running `revokit serve`. */
export interface RunningServer {
  readonly url: string;
  readonly http: Server;
  close(): Promise<void>;
}

/** Reads and checks a seed file; every problem is a {@link CliError} with exit status 2. */
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
  const store = await openStore(options.store);
  const clients = await MemoryClientStore.fromMetadata(seed?.clients ?? []);
  if (seed) {
    const inserted = await store.tokens.saveTokens(
      await seedTokens(seed.tokens, Math.floor(Date.now() / 1000)),
    );
    logger.info('seed loaded', { clients: clients.size, tokens_inserted: inserted });
  }
  if (clients.size === 0) {
    logger.warn(
      'no clients are registered, so every request answers invalid_client; add clients with --seed FILE (see examples/seed.json)',
    );
  }

  const http = createServer();
  http.keepAliveTimeout = 5000;
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
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
  const server = new AuthorizationServer({
    clients,
    issuer: options.issuer ?? url,
    cors: options.corsOrigins.length ? { origins: options.corsOrigins } : undefined,
  });
  server.registerEndpoint(
    createRevocationEndpoint(store.tokens, {
      foreignToken: options.foreignToken,
      revokeRefreshWithAccess: options.revokeRefreshWithAccess,
    }),
  );
  server.registerEndpoint(
    createIntrospectionEndpoint(store.tokens, { foreignTokens: 'resource-servers' }),
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

  http.on('request', toNodeHandler(server));
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
      }).then(() => store.close());
      return closing;
    },
  };
}

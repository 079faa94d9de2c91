/**
 * Throwaway PostgreSQL and Redis servers on loopback for the bench, started only for the
 * stores asked for whose code is in the tree. PostgreSQL runs with its default settings
 * (fsync and synchronous_commit on) and Redis with an append-only file synced on
 * every write: the durability an operator would keep for a revocation list.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { StoreName } from './stores.js';

const run = promisify(execFile);
const PG_BIN = process.env.REVOKIT_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const REDIS_SERVER = process.env.REVOKIT_REDIS_SERVER ?? '/usr/bin/redis-server';
const SRC = fileURLToPath(new URL('../src/stores/', import.meta.url));

export interface BenchServices {
  readonly postgresUrl?: string | undefined;
  readonly redisUrl?: string | undefined;
  /** Stores that cannot run here, and why. */
  readonly unavailable: Map<StoreName, string>;
  /** What each service runs with, for the report. */
  readonly descriptions: Partial<Record<StoreName, string>>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function storeModule(name: StoreName): string | undefined {
  for (const file of ['index.ts', `${name}-token-store.ts`]) {
    if (existsSync(join(SRC, name, file))) return join(SRC, name, file);
  }
  return undefined;
}

/** Runs a command as the `postgres` user when we are root: postgres refuses to run as root. */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0
    ? ['runuser', ['-u', 'postgres', '--', command, ...args]]
    : [command, args];
}

/** Runs a command on the given CPUs (`taskset -c`), or anywhere. */
function pinned(cpus: string | undefined, [command, args]: [string, string[]]): [string, string[]] {
  return cpus ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];
}

async function startPostgres(
  dir: string,
  cpus: string | undefined,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const base = join(dir, 'postgres');
  const data = join(base, 'data');
  await mkdir(base, { recursive: true });
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(base, Number(stdout.trim()), Number(gid.trim()));
    await chmod(dir, 0o755);
  }
  const port = await freePort();
  await run(
    ...asPostgres(join(PG_BIN, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]),
  );
  // The postmaster and every backend it forks inherit the CPUs pg_ctl runs on.
  await run(
    ...pinned(
      cpus,
      asPostgres(join(PG_BIN, 'pg_ctl'), [
        '-D',
        data,
        '-l',
        join(base, 'log'),
        '-w',
        '-o',
        `-p ${port} -k ${base} -c listen_addresses=127.0.0.1 -c max_connections=200`,
        'start',
      ]),
    ),
  );
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await run(
        ...asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']),
      ).catch(() => {});
    },
  };
}

async function startRedis(
  dir: string,
  cpus: string | undefined,
): Promise<{ url: string; stop: () => Promise<void> }> {
  // A missing binary is a store reported as not available, not a crash of the run.
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(`${REDIS_SERVER} not found (apt-get install redis-server)`);
  }
  const base = join(dir, 'redis');
  await mkdir(base, { recursive: true });
  const port = await freePort();
  const child: ChildProcess = spawn(
    ...pinned(cpus, [
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        base,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ],
    ]),
    { stdio: 'ignore' },
  );
  const exited = new Promise((resolve) => {
    child.once('exit', resolve);
    child.once('error', resolve);
  });
  const url = `redis://127.0.0.1:${port}`;
  // Ready when it accepts a connection.
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) break;
    if (i > 100 || child.exitCode !== null) throw new Error('redis-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Starts what the requested stores need; a store that cannot run is marked, not fatal. */
export async function startServices(
  stores: readonly StoreName[],
  dir: string,
  log: (message: string) => void,
  cpus?: string | undefined,
): Promise<BenchServices> {
  const unavailable = new Map<StoreName, string>();
  const descriptions: Partial<Record<StoreName, string>> = {};
  const stops: (() => Promise<void>)[] = [];
  let postgresUrl: string | undefined;
  let redisUrl: string | undefined;
  for (const name of stores) {
    if (name === 'memory') continue;
    if (!storeModule(name)) {
      unavailable.set(name, `src/stores/${name} is not in this tree`);
      continue;
    }
    try {
      if (name === 'postgres') {
        const pg = await startPostgres(dir, cpus);
        postgresUrl = pg.url;
        stops.push(pg.stop);
        descriptions.postgres =
          'server started by the bench with default settings (fsync, synchronous_commit and full_page_writes on)';
        log(`postgres: listening at ${pg.url}`);
      } else if (name === 'redis') {
        const redis = await startRedis(dir, cpus);
        redisUrl = redis.url;
        stops.push(redis.stop);
        descriptions.redis =
          'server started by the bench with appendonly yes, appendfsync always, no RDB snapshots';
        log(`redis: listening at ${redis.url}`);
      }
    } catch (error) {
      unavailable.set(
        name,
        `could not start its server: ${(error as Error).message.split('\n')[0]}`,
      );
    }
  }
  return {
    postgresUrl,
    redisUrl,
    unavailable,
    descriptions,
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Throwaway PostgreSQL and Redis servers for the tests of issue #3: each on a free
 * loopback port, in a temporary data directory, stopped and removed afterwards. A missing
 * server binary is a failure that says how to install one, never a skip.
 */
export interface Service {
  /** A URL for `--store` and the drivers. */
  readonly url: string;
  readonly port: number;
  /** Stops the server, keeping its data (for fault tests). */
  stop(): Promise<void>;
  /**
   * Stops it as a crash would, keeping its data: no session finishes its work or lets go
   * of a lock on the way down (PostgreSQL's immediate shutdown, SIGQUIT, with recovery at
   * the next start; SIGKILL for Redis).
   */
  crash(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  destroy(): Promise<void>;
}

const INSTALL_HINT =
  'install the servers with `apt-get install -y postgresql redis-server` (Debian/Ubuntu), or set REVOKIT_PG_BIN to the directory holding initdb and postgres';

/** A free TCP port on loopback: the kernel picks it, the listener is closed at once. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, child: ChildProcess) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not start within 30 s`);
}

function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

function findPostgresBin(): string {
  const candidates: string[] = [];
  if (process.env.REVOKIT_PG_BIN) candidates.push(process.env.REVOKIT_PG_BIN);
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
    for (const version of versions) candidates.push(`/usr/lib/postgresql/${version}/bin`);
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  for (const dir of candidates) {
    if (existsSync(join(dir, 'postgres')) && existsSync(join(dir, 'initdb'))) return dir;
  }
  throw new Error(`PostgreSQL server binaries (initdb, postgres) were not found: ${INSTALL_HINT}`);
}

function findRedisServer(): string {
  for (const dir of ['/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    if (dir && existsSync(join(dir, 'redis-server'))) return join(dir, 'redis-server');
  }
  throw new Error(`redis-server was not found: ${INSTALL_HINT}`);
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    throw new Error(
      `running as root, PostgreSQL needs a "postgres" user to run as, and there is none: ${INSTALL_HINT}`,
    );
  }
}

/**
 * Starts a throwaway PostgreSQL: `initdb` into a temporary directory, then `postgres` on a
 * free loopback port with durability traded for speed (these data are thrown away).
 */
export async function startPostgres(): Promise<Service> {
  const bin = findPostgresBin();
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'revokit-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const spawnOptions = { ...user, env: { ...process.env, LC_ALL: 'C' }, cwd: dir };
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync'],
    { ...spawnOptions, stdio: 'pipe' },
  );
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    log = '';
    child = spawn(
      join(bin, 'postgres'),
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      { ...spawnOptions, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    });
    const current = child;
    try {
      await waitFor('postgres', () => pgReady(port), current);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${log}`);
    }
  };
  await start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    start,
    // SIGINT is PostgreSQL's "fast" shutdown: sessions are cut, as when a server goes down.
    stop: () => stopChild(child, 'SIGINT'),
    crash: () => stopChild(child, 'SIGQUIT'),
    async destroy() {
      await stopChild(child, 'SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether PostgreSQL accepts queries yet (it listens before it finishes recovery). */
async function pgReady(port: number): Promise<boolean> {
  if (!(await canConnect(port))) return false;
  const { default: pg } = await import('pg');
  // Bounded: a postmaster still shutting down or starting can take the socket and not
  // answer, and a check that never returns would outlive waitFor's deadline.
  const client = new pg.Client({
    connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
    connectionTimeoutMillis: 2000,
    query_timeout: 2000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Starts a throwaway Redis on a free loopback port. The append-only file is on and synced
 * on every write, so data survive a {@link Service.stop} and {@link Service.start}, as a
 * production Redis holding revocations must.
 */
export async function startRedis(): Promise<Service> {
  const server = findRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'revokit-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    log = '';
    child = spawn(
      server,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const current = child;
    try {
      await waitFor('redis-server', () => canConnect(port), current);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${log}`);
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop: () => stopChild(child, 'SIGTERM'),
    crash: () => stopChild(child, 'SIGKILL'),
    async destroy() {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A PostgreSQL for tests that do not stop it: `REVOKIT_TEST_PG_URL` when set, else a
 * throwaway server.
 */
export async function postgresForTests(): Promise<Service> {
  const url = process.env.REVOKIT_TEST_PG_URL;
  if (!url) return startPostgres();
  return external(url);
}

/** A Redis for tests that do not stop it: `REVOKIT_TEST_REDIS_URL` when set, else throwaway. */
export async function redisForTests(): Promise<Service> {
  const url = process.env.REVOKIT_TEST_REDIS_URL;
  if (!url) return startRedis();
  return external(url);
}

function external(url: string): Service {
  const refuse = () => Promise.reject(new Error('an external test server cannot be stopped'));
  return {
    url,
    port: Number(new URL(url).port),
    stop: refuse,
    crash: refuse,
    start: refuse,
    destroy: async () => {},
  };
}

/**
 * The load generator's side: a handle on a server process, and one autocannon run
 * against it, with latencies recorded per response (autocannon's own histogram keeps
 * whole milliseconds, too coarse for sub-millisecond answers).
 */
import { type ChildProcess, execFile, fork, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import type { Command, Reply } from './server.js';
import { AUTHORIZATION } from './tokens.js';

const TSCONFIG = fileURLToPath(new URL('./tsconfig.server.json', import.meta.url));
const SERVER_ENTRY = fileURLToPath(
  new URL('../.tmp/bench-server/bench/server.js', import.meta.url),
);

/**
 * Compiles the server process (bench/server.ts and the revokit sources it imports) with
 * tsc, as `npm run build` compiles dist/. The server must not run through tsx: tsx builds
 * with esbuild's keepNames, which wraps every closure the hot path creates in a `__name`
 * call that compiled revokit never makes.
 */
export async function buildServer(): Promise<void> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', TSCONFIG]);
  } catch (error) {
    // Type errors still emit JavaScript; only a missing output is fatal.
    if (!existsSync(SERVER_ENTRY)) throw error;
    const output = (error as { stdout?: string }).stdout ?? '';
    process.stderr.write(`warning: tsc reported errors compiling the bench server:\n${output}\n`);
  }
}

/** A server under test, in its own process, driven over IPC. */
export class ServerProcess {
  readonly label: string;
  #child: ChildProcess;
  #next = 0;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void }>();
  #exited: Promise<number | null>;
  port = 0;

  constructor(
    label: string,
    options: { profileDir?: string | undefined; cpus?: string | undefined } = {},
  ) {
    this.label = label;
    // --expose-gc: the server collects its garbage after seeding, not during a run.
    const execArgv = ['--max-old-space-size=12288', '--expose-gc'];
    if (options.profileDir) {
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.profileDir}/${label}`);
    }
    const ipc = {
      serialization: 'advanced' as const,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'] as ('ignore' | 'inherit' | 'ipc')[],
    };
    // Pinned: `taskset` execs node in place, keeping the IPC channel's descriptor.
    this.#child = options.cpus
      ? spawn('taskset', ['-c', options.cpus, process.execPath, ...execArgv, SERVER_ENTRY], ipc)
      : fork(SERVER_ENTRY, [], { execArgv, ...ipc });
    this.#child.on('message', (reply: Reply) => {
      this.#pending.get(reply.id)?.resolve(reply);
      this.#pending.delete(reply.id);
    });
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    this.#exited.then(() => {
      for (const { resolve } of this.#pending.values()) {
        resolve({ id: -1, ok: false, error: `${label}: the server process exited` });
      }
      this.#pending.clear();
    });
  }

  /** Sends a command; rejects with the server's error message. */
  async call<T>(command: Command): Promise<T> {
    const reply = await this.request(command);
    if (!reply.ok) throw new Error(`${this.label}: ${reply.error}`);
    return reply.result as T;
  }

  /** Sends a command and returns the raw reply. */
  request(command: Command): Promise<Reply> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, { resolve });
      this.#child.send({ id, ...command });
    });
  }

  async cpu(): Promise<{ cpuMs: number; wallMs: number; rssMb: number; found: number }> {
    return this.call({ cmd: 'cpu' });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    await Promise.race([
      this.request({ cmd: 'stop' }),
      new Promise((resolve) => setTimeout(resolve, 5000)),
    ]);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** One autocannon run. */
export interface LoadSpec {
  readonly port: number;
  readonly path: string;
  /**
   * The body of request number `n`. Connection `c` sends bodies `c * perClient` to
   * `(c + 1) * perClient - 1`, in a loop: with `amount`, exactly once each.
   */
  readonly body: (n: number) => string;
  readonly connections: number;
  /** Seconds; ignored when `amount` is given. */
  readonly duration?: number;
  /** Exactly this many requests, a multiple of `connections`: `perClient` is then `amount / connections`. */
  readonly amount?: number;
  /** Distinct bodies per connection in a timed run (default 400). */
  readonly perClient?: number;
}

/** What one run measured. */
export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Milliseconds, over every response but each connection's first (see {@link runLoad}). */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Median and highest latency of each connection's first response, setup included. */
  readonly firstP50: number;
  readonly firstMax: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Server CPU time over wall time, 1 = one core busy the whole run. */
  readonly serverCpu: number;
  /** How many distinct bodies were built: with `amount`, the tokens a run consumed. */
  readonly bodies: number;
  /**
   * CPU time of the database servers (every `postgres` and `redis-server` process), µs a
   * request: the part of a request's cost the server process's own CPU does not show.
   */
  readonly databaseCpuMicros: number;
  /** The machine's CPUs busy over the run, 1 = all of them: below 1, the run waited. */
  readonly machineBusy: number;
  /** Requests the baseline found a stored token for (0 from a revokit server). */
  readonly found: number;
}

/** Linux's USER_HZ: /proc reports CPU time in 1/100 s on every architecture it runs on. */
const CLOCK_TICK_MICROS = 10_000;

/**
 * CPU time so far of every process whose name starts with one of `names`, in µs; NaN
 * where there is no /proc (macOS), so the report shows a dash instead of failing the run.
 */
function processCpuMicros(names: readonly string[]): number {
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return Number.NaN;
  }
  let ticks = 0;
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!names.some((name) => comm.startsWith(name))) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return ticks * CLOCK_TICK_MICROS;
}

/** The machine's busy and total CPU ticks so far (/proc/stat). */
function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const total = values.reduce((sum, value) => sum + value, 0);
    // idle and iowait
    return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

const DATABASE_PROCESSES = ['postgres', 'redis-server'] as const;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

/**
 * Runs autocannon against a server process and measures throughput and latency.
 *
 * The latency percentiles leave out each connection's first response. autocannon starts
 * that request's clock when it builds the client, before the TCP handshake and before it
 * builds the run's other clients, so it measures the load generator's setup (a median
 * of 11–47 ms for 50 connections, against the baseline as against revokit, issue #5;
 * docs/benchmarks.md), not an answer under load. With 50 connections that is 50 responses a run: noise in a 30,000-request run,
 * but 5% of a 1,000-request one (scenario 2 at 10^3 tokens), where it was the p99 of the
 * baseline and revokit alike. Those responses are still counted in req/s, and reported
 * apart as `firstP50` and `firstMax`.
 */
export async function runLoad(server: ServerProcess, spec: LoadSpec): Promise<LoadResult> {
  let latencies = new Float64Array(spec.amount ?? 65_536);
  let count = 0;
  const firstLatencies: number[] = [];
  const answered = new WeakSet<object>();
  let non2xx = 0;
  let first = 0;
  let last = 0;
  const { connections, amount } = spec;
  if (amount !== undefined && amount % connections !== 0) {
    throw new Error(`amount ${amount} is not a multiple of ${connections} connections`);
  }
  const perClient = amount ? amount / connections : (spec.perClient ?? 400);
  const headers = {
    authorization: AUTHORIZATION,
    'content-type': 'application/x-www-form-urlencoded',
  };
  // Every request is built before the run starts, one list per connection: the load
  // generator then only cycles through buffers, so its own cost per request stays small
  // next to the server's (the two share the machine's cores).
  const lists: autocannon.Request[][] = [];
  for (let c = 0; c < connections; c++) {
    const list: autocannon.Request[] = [];
    for (let j = 0; j < perClient; j++) {
      list.push({ method: 'POST', path: spec.path, headers, body: spec.body(c * perClient + j) });
    }
    lists.push(list);
  }
  let setup = 0;
  const cpuBefore = await server.cpu();
  const databaseBefore = processCpuMicros(DATABASE_PROCESSES);
  const machineBefore = machineTicks();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${spec.port}`,
        connections,
        duration: spec.duration ?? 10,
        ...(amount ? { amount } : {}),
        sampleInt: 50,
        timeout: 10,
        requests: [lists[0]![0]!],
        setupClient: (client) => {
          client.setRequests(lists[setup++]!);
        },
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on('start', () => {
      first = performance.now();
    });
    instance.on('response', (client, statusCode, _bytes, responseTime) => {
      last = performance.now();
      if (statusCode < 200 || statusCode > 299) non2xx++;
      if (!answered.has(client)) {
        answered.add(client);
        firstLatencies.push(responseTime);
        return;
      }
      if (count === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[count++] = responseTime;
    });
  });
  const cpuAfter = await server.cpu();
  const databaseCpu = processCpuMicros(DATABASE_PROCESSES) - databaseBefore;
  const machineAfter = machineTicks();
  const sorted = latencies.subarray(0, count).sort();
  const firsts = Float64Array.from(firstLatencies).sort();
  const requests = count + firsts.length;
  const seconds = (last - first) / 1000;
  return {
    requests,
    seconds,
    rps: requests / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: percentile(sorted, 100),
    firstP50: percentile(firsts, 50),
    firstMax: percentile(firsts, 100),
    non2xx,
    errors: result.errors + result.timeouts,
    serverCpu: (cpuAfter.cpuMs - cpuBefore.cpuMs) / (cpuAfter.wallMs - cpuBefore.wallMs),
    bodies: connections * perClient,
    databaseCpuMicros: requests > 0 ? databaseCpu / requests : Number.NaN,
    machineBusy:
      (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
    found: cpuAfter.found - cpuBefore.found,
  };
}

/** One request, for checking that a server answers what the scenario expects. */
export async function post(
  port: number,
  path: string,
  body: string,
): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: {
      authorization: AUTHORIZATION,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text, ms: performance.now() - started };
}

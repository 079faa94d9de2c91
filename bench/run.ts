/**
 * `npm run bench [-- --quick]`: revokit beside a bare `node:http` baseline, per store.
 *
 * Every figure is measured against the baseline in the same run, in alternating runs
 * (B R B R B R), and reported as the median of the three ratios. Servers run in child
 * processes; this process is the load generator (autocannon). Results go to
 * bench/results/ as JSON, markdown and an SVG chart.
 */

import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildServer,
  type LoadResult,
  type LoadSpec,
  post,
  runLoad,
  ServerProcess,
} from './load.js';
import { type Interval, Population, uncovered } from './population.js';
import {
  type CascadeResult,
  hardware,
  median,
  type Report,
  type ScenarioResult,
  type StoreStatus,
  summarize,
  writeReport,
} from './report.js';
import { type BenchServices, startServices } from './services.js';
import { STORE_NAMES, type StoreConfig, type StoreName } from './stores.js';
import { cascadeValue, formBody, revokedValue, tokenValue, UNKNOWN_TOKEN } from './tokens.js';

const REVOKE = '/oauth/revoke';
const INTROSPECT = '/oauth/introspect';

interface Settings {
  readonly mode: 'quick' | 'full';
  readonly stores: readonly StoreName[];
  readonly sizes: readonly number[];
  /** Sizes only SQLite and PostgreSQL are run at. */
  readonly bigSizes: readonly number[];
  readonly duration: number;
  readonly warmup: number;
  /** Seconds of the first, unmeasured warm-up of each server, per path. */
  readonly firstWarmup: number;
  readonly pairs: number;
  readonly connections: number;
  /** Requests of one scenario-2 run, each revoking a fresh token. */
  readonly revokeAmount: number;
  /** Distinct request bodies per connection in a timed run. */
  readonly perClient: number;
  readonly cascadeSizes: readonly number[];
  readonly cascadeReps: number;
  /** Also time `revokeGrant` alone, in the server process. */
  readonly cascadeDirect: boolean;
  readonly revokedCount: number;
  readonly sampleSize: number;
  readonly out: string;
  readonly profileDir: string | undefined;
  /** Only time the seeding of each size (to plan a run), measure nothing. */
  readonly seedOnly: boolean;
  /** Load generator on CPU 0; servers, database servers included, on the others. */
  readonly pin: boolean;
}

function settingsFromArgs(): Settings {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'seed-only': { type: 'boolean', default: false },
      pin: { type: 'boolean', default: false },
      stores: { type: 'string' },
      sizes: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      pairs: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const stores = (values.stores?.split(',') ?? [...STORE_NAMES]).map((name) => {
    if (!(STORE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`--stores: unknown store ${name}; expected ${STORE_NAMES.join(', ')}`);
    }
    return name as StoreName;
  });
  const sizes = values.sizes?.split(',').map(Number);
  const pairs = values.pairs === undefined ? 3 : Number(values.pairs);
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 15) {
    throw new Error(`--pairs: a whole number from 1 to 15, not ${values.pairs}`);
  }
  return {
    mode: quick ? 'quick' : 'full',
    stores,
    sizes: sizes ?? (quick ? [1e3, 1e5] : [1e3, 1e5, 1e6]),
    bigSizes: sizes ? [] : quick ? [] : [1e7],
    duration: values.duration ? Number(values.duration) : quick ? 0.3 : 1,
    warmup: quick ? 0.2 : 0.3,
    firstWarmup: quick ? 0.3 : 0.5,
    pairs,
    connections: values.connections ? Number(values.connections) : 50,
    revokeAmount: quick ? 2000 : 5000,
    perClient: quick ? 100 : 200,
    cascadeSizes: [10, 1000, 10_000],
    cascadeReps: quick ? 1 : 3,
    cascadeDirect: !quick,
    revokedCount: 1000,
    sampleSize: 50_000,
    out: resolve(values.out ?? 'bench/results'),
    profileDir: values.profile ? resolve(values.profile) : undefined,
    seedOnly: values['seed-only'] ?? false,
    pin: values.pin ?? false,
  };
}

const started = performance.now();
/** Taken before anything runs: the load average at the end would count the run itself. */
const machine = hardware();
function log(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${seconds}s] ${message}\n`);
}

/** A store under test: its server process and what it holds. */
interface StoreUnderTest {
  readonly name: StoreName;
  readonly server: ServerProcess;
  readonly population: Population;
}

class Bench {
  readonly settings: Settings;
  readonly baseline: ServerProcess;
  readonly baselineSeeded: Interval[] = [];
  readonly scenarios: ScenarioResult[] = [];
  readonly cascade: CascadeResult[] = [];

  constructor(settings: Settings, baseline: ServerProcess) {
    this.settings = settings;
    this.baseline = baseline;
  }

  /** Seeds an interval of the population into a store, and into the baseline's map. */
  async seed(target: StoreUnderTest, interval: Interval): Promise<void> {
    const [from, to] = interval;
    const missing = uncovered(this.baselineSeeded, interval);
    const [{ ms }] = await Promise.all([
      target.server.call<{ ms: number }>({ cmd: 'seed', from, to }),
      ...missing.map(([a, b]) => this.baseline.call({ cmd: 'seed', from: a, to: b })),
    ]);
    log(
      `${target.name}: seeded ${(to - from).toLocaleString('en')} tokens in ${(ms / 1000).toFixed(1)} s`,
    );
  }

  spec(port: number, path: string, body: (n: number) => string, amount?: number): LoadSpec {
    const { connections, duration, perClient } = this.settings;
    return amount
      ? { port, path, body, connections, amount }
      : { port, path, body, connections, duration, perClient };
  }

  /** Warms both servers up on a scenario's path, unmeasured. */
  async warm(target: StoreUnderTest, path: string, body: (n: number) => string, amount?: number) {
    const { warmup } = this.settings;
    for (const server of [this.baseline, target.server]) {
      const spec = amount
        ? this.spec(server.port, path, body, amount)
        : { ...this.spec(server.port, path, body), duration: warmup };
      await runLoad(server, spec);
    }
  }

  /**
   * B R B R B R. `prepare(i)` gives the body function of pair `i` (and may reseed), so
   * baseline and revokit of one pair send exactly the same requests.
   */
  async pairs(
    target: StoreUnderTest,
    scenario: ScenarioResult['scenario'],
    tokens: number,
    path: string,
    prepare: (pair: number) => Promise<{ body: (n: number) => string; amount?: number }>,
    notes: string[] = [],
  ): Promise<ScenarioResult> {
    const runs: { baseline: LoadResult; revokit: LoadResult }[] = [];
    for (let i = 0; i < this.settings.pairs; i++) {
      const { body, amount } = await prepare(i);
      const baseline = await runLoad(
        this.baseline,
        this.spec(this.baseline.port, path, body, amount),
      );
      const revokit = await runLoad(
        target.server,
        this.spec(target.server.port, path, body, amount),
      );
      runs.push({ baseline, revokit });
    }
    const result = summarize(target.name, scenario, tokens, runs, notes);
    this.scenarios.push(result);
    const m = result.median;
    log(
      `${target.name} s${scenario} @${tokens.toLocaleString('en')}: ${Math.round(m.rps)} req/s, ` +
        `p99 ${m.p99.toFixed(2)} ms, baseline ${Math.round(m.baselineRps)} req/s, ratio ${m.ratio.toFixed(2)}` +
        (result.valid ? '' : ` INVALID (${result.notes.join('; ')})`),
    );
    return result;
  }

  /** Scenario 3: introspect active tokens, spread over the population. */
  async introspectActive(target: StoreUnderTest): Promise<void> {
    const sample = target.population.sample(this.settings.sampleSize, target.population.size);
    const body = (n: number) => formBody(tokenValue(sample[n % sample.length]!));
    const check = await post(target.server.port, INTROSPECT, body(0));
    const notes: string[] = [];
    if (check.status !== 200 || !check.body.includes('"active":true')) {
      notes.push(`check failed: ${check.status} ${check.body}`);
    }
    await this.warm(target, INTROSPECT, body);
    const result = await this.pairs(
      target,
      3,
      target.population.size,
      INTROSPECT,
      async () => ({ body }),
      notes,
    );
    if (notes.length) result.valid = false;
  }

  /**
   * Scenario 2: every request revokes a fresh token. When the population has too few
   * left for a run (10^3 tokens), the store is purged and refilled to the same size.
   */
  async revokeFresh(target: StoreUnderTest): Promise<void> {
    const size = target.population.size;
    const amount = Math.min(this.settings.revokeAmount, size);
    const notes: string[] = [];
    if (amount < this.settings.revokeAmount) {
      notes.push(`runs of ${amount} requests: the store holds ${size} tokens, each revoked once`);
    }
    const fresh = async (count: number): Promise<Interval> => {
      if (target.population.room < count) {
        const { ms } = await target.server.call<{ ms: number }>({ cmd: 'purge' });
        const interval = target.population.refill(size);
        log(`${target.name}: purged in ${ms.toFixed(0)} ms, refilling ${size} tokens`);
        await this.seed(target, interval);
      }
      return target.population.take(count);
    };
    const bodyOf =
      ([from, to]: Interval) =>
      (n: number) => {
        if (from + n >= to) throw new Error('scenario 2 ran out of fresh tokens');
        return formBody(tokenValue(from + n));
      };
    // Check: the token is revoked, and introspection says so at once.
    const [checked] = await fresh(1);
    const revoke = await post(target.server.port, REVOKE, formBody(tokenValue(checked)));
    const after = await post(target.server.port, INTROSPECT, formBody(tokenValue(checked)));
    if (revoke.status !== 200 || after.body !== '{"active":false}') {
      notes.push(`check failed: revoke ${revoke.status}, then introspection ${after.body}`);
    }
    const warmCount = Math.min(amount, 1000);
    await this.warm(target, REVOKE, bodyOf(await fresh(warmCount)), warmCount);
    const result = await this.pairs(
      target,
      2,
      size,
      REVOKE,
      async () => {
        const interval = await fresh(amount);
        return { body: bodyOf(interval), amount };
      },
      notes,
    );
    if (notes.some((note) => note.startsWith('check'))) result.valid = false;
  }

  /** Scenario 1: revoke a token nobody stored. */
  async revokeUnknown(target: StoreUnderTest): Promise<void> {
    const body = () => formBody(UNKNOWN_TOKEN);
    const check = await post(target.server.port, REVOKE, body());
    const notes =
      check.status === 200 && check.body === '{}'
        ? []
        : [`check failed: ${check.status} ${check.body}`];
    await this.warm(target, REVOKE, body);
    const result = await this.pairs(
      target,
      1,
      target.population.size,
      REVOKE,
      async () => ({ body }),
      notes,
    );
    if (notes.length) result.valid = false;
  }

  /** Scenario 4: introspect revoked tokens. */
  async introspectRevoked(target: StoreUnderTest): Promise<void> {
    const count = this.settings.revokedCount;
    await target.server.call({ cmd: 'seedRevoked', count });
    target.population.size += count;
    const body = (n: number) => formBody(revokedValue(n % count));
    const check = await post(target.server.port, INTROSPECT, body(0));
    const notes =
      check.body === '{"active":false}' ? [] : [`check failed: ${check.status} ${check.body}`];
    await this.warm(target, INTROSPECT, body);
    const result = await this.pairs(
      target,
      4,
      target.population.size,
      INTROSPECT,
      async () => ({ body }),
      notes,
    );
    if (notes.length) result.valid = false;
  }

  /** The time to revoke a grant of n tokens, through the endpoint and in the store. */
  async cascadeTimes(target: StoreUnderTest): Promise<void> {
    for (const size of this.settings.cascadeSizes) {
      const http: number[] = [];
      const direct: number[] = [];
      let valid = true;
      for (let rep = 0; rep < this.settings.cascadeReps; rep++) {
        for (const via of this.settings.cascadeDirect ? (['h', 'd'] as const) : (['h'] as const)) {
          const grant = `${via}${size}-${rep}`;
          await target.server.call({ cmd: 'seedCascade', grant, size });
          target.population.size += size;
          if (via === 'd') {
            const { ms, count } = await target.server.call<{ ms: number; count: number }>({
              cmd: 'revokeGrantDirect',
              grant,
            });
            if (count !== size) valid = false;
            direct.push(ms);
            continue;
          }
          // A request first, so that the timed one finds an open connection.
          await post(target.server.port, INTROSPECT, formBody(cascadeValue(grant, size - 1)));
          const revoke = await post(target.server.port, REVOKE, formBody(cascadeValue(grant, 0)));
          http.push(revoke.ms);
          const last = await post(
            target.server.port,
            INTROSPECT,
            formBody(cascadeValue(grant, size - 1)),
          );
          if (revoke.status !== 200 || last.body !== '{"active":false}') valid = false;
        }
      }
      const result: CascadeResult = {
        store: target.name,
        grantSize: size,
        storedTokens: target.population.size,
        httpMs: median(http),
        directMs: median(direct),
        samplesHttpMs: http,
        samplesDirectMs: direct,
        valid,
      };
      this.cascade.push(result);
      log(
        `${target.name} cascade ${size}: ${result.httpMs.toFixed(1)} ms through the endpoint, ` +
          `${Number.isNaN(result.directMs) ? '–' : result.directMs.toFixed(1)} ms in the store${valid ? '' : ' INVALID'}`,
      );
    }
  }
}

/**
 * Pins this process (the load generator, every thread) to CPU 0 and returns the CPUs the
 * servers get: the rest. Without `taskset` or with one CPU, nothing is pinned.
 */
function pinLoadGenerator(): string | undefined {
  const count = cpus().length;
  if (count < 2) return undefined;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  } catch {
    log('taskset is not available: nothing pinned');
    return undefined;
  }
  return count === 2 ? '1' : `1-${count - 1}`;
}

async function main(): Promise<void> {
  const settings = settingsFromArgs();
  log(`revokit bench, ${settings.mode} run: stores ${settings.stores.join(', ')}`);
  const statuses: StoreStatus[] = [];
  const runDir = join(tmpdir(), `revokit-bench-${process.pid}`);
  await mkdir(runDir, { recursive: true });
  if (settings.profileDir) await mkdir(settings.profileDir, { recursive: true });

  const serverCpus = settings.pin ? pinLoadGenerator() : undefined;
  await buildServer();
  log('compiled the server process (tsc)');
  let services: BenchServices | undefined;
  const targets: StoreUnderTest[] = [];
  const baseline = new ServerProcess('baseline', {
    profileDir: settings.profileDir,
    cpus: serverCpus,
  });
  try {
    baseline.port = (
      await baseline.call<{ port: number }>({ cmd: 'start', target: 'baseline' })
    ).port;
    services = await startServices(settings.stores, runDir, log, serverCpus);
    for (const name of settings.stores) {
      const unavailable = services.unavailable.get(name);
      if (unavailable) {
        statuses.push({ name, status: 'not available', reason: unavailable });
        log(`${name}: not available (${unavailable})`);
        continue;
      }
      const config: StoreConfig = {
        name,
        sqlitePath: join(runDir, 'bench.db'),
        postgresUrl: services.postgresUrl,
        redisUrl: services.redisUrl,
      };
      const server = new ServerProcess(name, { profileDir: settings.profileDir, cpus: serverCpus });
      const reply = await server.request({ cmd: 'start', target: config });
      if (!reply.ok) {
        statuses.push({ name, status: 'not available', reason: reply.error ?? 'failed to start' });
        log(`${name}: not available (${reply.error})`);
        await server.stop();
        continue;
      }
      server.port = (reply.result as { port: number }).port;
      const service = services.descriptions[name];
      const { description } = reply.result as { description: string };
      statuses.push({
        name,
        status: 'ok',
        description: service ? `${description}; ${service}` : description,
      });
      targets.push({ name, server, population: new Population() });
    }

    const bench = new Bench(settings, baseline);
    // The load generator and every server start with cold JIT: the first runs of a fresh
    // process are up to five times slower. Warm them all up once, unmeasured, on the
    // paths of scenarios 1 and 3 (introspecting unknown tokens, revoking an unknown one).
    if (!settings.seedOnly) {
      const unknown = () => formBody(UNKNOWN_TOKEN);
      for (const server of [baseline, ...targets.map((target) => target.server)]) {
        for (const path of [INTROSPECT, REVOKE]) {
          await runLoad(server, {
            ...bench.spec(server.port, path, unknown),
            duration: settings.firstWarmup,
          });
        }
      }
      log('warmed up the load generator and every server');
    }
    // A store that fails mid-run is reported as failed; the others go on.
    const live = new Set(targets);
    const attempt = async (target: StoreUnderTest, step: () => Promise<void>) => {
      if (!live.has(target)) return;
      try {
        await step();
      } catch (error) {
        live.delete(target);
        const reason = error instanceof Error ? error.message : String(error);
        const status = statuses.find((entry) => entry.name === target.name);
        if (status) Object.assign(status, { status: 'failed', reason });
        log(`${target.name}: FAILED, left out of the rest of the run (${reason})`);
      }
    };
    // Issue #5 bounds a run: 2 minutes quick, 15 full. A step that would start too late to
    // end inside the budget is left out, and the report says which.
    const budget = (settings.mode === 'quick' ? 120 : 900) * 1000;
    const skipped: string[] = [];
    const inTime = (step: string, needs: number): boolean => {
      if (performance.now() - started + needs * 1000 <= budget) return true;
      skipped.push(step);
      log(`left out ${step}: it would end past the ${budget / 60_000}-minute budget`);
      return false;
    };
    const sizes = [...settings.sizes, ...settings.bigSizes];
    for (const size of sizes) {
      const big = settings.bigSizes.includes(size);
      // The 10^7 step seeds and measures for ~4–5 minutes; the steps after it, ~1.5.
      if (big && !inTime(`${size.toLocaleString('en')} stored tokens`, 390)) continue;
      const here = targets.filter(
        (target) => !big || target.name === 'sqlite' || target.name === 'postgres',
      );
      // Seeding is not measured: every store (and the baseline) seeds at once.
      await Promise.all(
        here.map((target) =>
          attempt(target, async () => {
            const interval = target.population.grow(size);
            if (interval) await bench.seed(target, interval);
          }),
        ),
      );
      // And every server lets the after-effects of the load finish, unmeasured.
      const settled = performance.now();
      await Promise.all([
        baseline.call({ cmd: 'settle' }),
        ...here.map((target) =>
          attempt(target, async () => {
            const { ms } = await target.server.call<{ ms: number }>({ cmd: 'settle' });
            if (ms > 1000) log(`${target.name}: settled in ${(ms / 1000).toFixed(1)} s`);
          }),
        ),
      ]);
      log(`all settled in ${((performance.now() - settled) / 1000).toFixed(1)} s`);
      if (settings.seedOnly) continue;
      for (const target of here) {
        await attempt(target, () => bench.introspectActive(target));
        await attempt(target, () => bench.revokeFresh(target));
      }
    }
    for (const target of settings.seedOnly ? [] : targets) {
      if (!inTime(`${target.name}: scenarios 1 and 4 and the cascade`, 25)) continue;
      await attempt(target, () => bench.revokeUnknown(target));
      await attempt(target, () => bench.introspectRevoked(target));
      await attempt(target, () => bench.cascadeTimes(target));
    }

    const report: Report = {
      meta: {
        ...machine,
        mode: settings.mode,
        date: new Date().toISOString(),
        seconds: Math.round((performance.now() - started) / 1000),
        connections: settings.connections,
        duration: settings.duration,
        pairs: settings.pairs,
        revokeAmount: settings.revokeAmount,
        pinning: serverCpus
          ? `load generator on CPU 0, servers and database servers on CPU ${serverCpus} (taskset)`
          : 'none: the scheduler places every process',
        ...(skipped.length ? { skipped } : {}),
      },
      stores: statuses,
      scenarios: bench.scenarios,
      cascade: bench.cascade,
      targets: [],
    };
    const files = await writeReport(report, settings.out);
    log(`done in ${report.meta.seconds} s: ${files.join(', ')}`);
  } finally {
    for (const target of targets) await target.server.stop();
    await baseline.stop();
    await services?.stop();
    // The database files of a full run take ~10 GB.
    await rm(runDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});

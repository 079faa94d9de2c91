/**
 * Results: medians of B R B R B R pairs, the targets of issue 5 judged against them, and
 * the three files of a run (JSON, a markdown table, an SVG chart drawn by hand).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { LoadResult } from './load.js';
import type { StoreName } from './stores.js';

export const SCENARIOS = {
  1: 'revoke an unknown token',
  2: 'revoke a distinct valid token per request',
  3: 'introspect an active token',
  4: 'introspect a revoked token',
} as const;

export interface ScenarioResult {
  store: StoreName;
  scenario: 1 | 2 | 3 | 4;
  name: string;
  /** Tokens stored when the scenario ran, revoked ones included. */
  tokens: number;
  runs: { baseline: LoadResult; revokit: LoadResult; ratio: number }[];
  median: {
    rps: number;
    p50: number;
    p99: number;
    baselineRps: number;
    baselineP50: number;
    baselineP99: number;
    /** The median of the per-pair ratios revokit / baseline. */
    ratio: number;
    serverCpu: number;
    baselineServerCpu: number;
    /** Database servers' CPU, µs a revokit request (NaN for the in-process stores' runs). */
    databaseCpuMicros: number;
    /** The machine's CPUs busy during the revokit runs, 1 = all. */
    machineBusy: number;
    baselineMachineBusy: number;
  };
  valid: boolean;
  notes: string[];
}

export interface CascadeResult {
  store: StoreName;
  grantSize: number;
  storedTokens: number;
  /** Median time of the revocation request, measured by the client. */
  httpMs: number;
  /** Median time of `store.revokeGrant` alone, in the server process. */
  directMs: number;
  samplesHttpMs: number[];
  samplesDirectMs: number[];
  valid: boolean;
}

export interface StoreStatus {
  name: StoreName;
  status: 'ok' | 'not available' | 'failed';
  reason?: string;
  description?: string;
}

export interface TargetResult {
  target: string;
  store: StoreName;
  goal: string;
  measured: string;
  met: boolean | null;
}

export interface Report {
  meta: ReturnType<typeof hardware> & {
    mode: 'quick' | 'full';
    date: string;
    seconds: number;
    connections: number;
    duration: number;
    pairs: number;
    revokeAmount: number;
    pinning: string;
    /** Steps left out because the run was near its time budget (issue #5: 2 and 15 min). */
    skipped?: string[];
  };
  stores: StoreStatus[];
  scenarios: ScenarioResult[];
  cascade: CascadeResult[];
  targets: TargetResult[];
}

/** The machine and the code: every report states them. */
export function hardware() {
  const list = cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {}
  return {
    node: process.version,
    cpuCount: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    commit,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(
  store: StoreName,
  scenario: ScenarioResult['scenario'],
  tokens: number,
  pairs: { baseline: LoadResult; revokit: LoadResult }[],
  notes: string[],
): ScenarioResult {
  const runs = pairs.map((pair) => ({ ...pair, ratio: pair.revokit.rps / pair.baseline.rps }));
  const valid = runs.every(
    (run) =>
      run.revokit.non2xx === 0 &&
      run.revokit.errors === 0 &&
      run.baseline.non2xx === 0 &&
      run.baseline.errors === 0,
  );
  if (!valid) {
    const bad = runs.map((run) => `${run.revokit.non2xx}/${run.revokit.errors}`).join(', ');
    notes.push(`non-2xx/errors per revokit run: ${bad}`);
  }
  // Scenarios 2 and 3 name stored tokens: a baseline that finds none did not look them up.
  if (
    (scenario === 2 || scenario === 3) &&
    runs.some((run) => run.baseline.found < run.baseline.requests)
  ) {
    notes.push(
      `the baseline found ${runs.map((run) => `${run.baseline.found}/${run.baseline.requests}`).join(', ')} tokens`,
    );
  }
  const of = (pick: (run: (typeof runs)[number]) => number) => median(runs.map(pick));
  return {
    store,
    scenario,
    name: SCENARIOS[scenario],
    tokens,
    runs,
    median: {
      rps: of((run) => run.revokit.rps),
      p50: of((run) => run.revokit.p50),
      p99: of((run) => run.revokit.p99),
      baselineRps: of((run) => run.baseline.rps),
      baselineP50: of((run) => run.baseline.p50),
      baselineP99: of((run) => run.baseline.p99),
      ratio: of((run) => run.ratio),
      serverCpu: of((run) => run.revokit.serverCpu),
      baselineServerCpu: of((run) => run.baseline.serverCpu),
      databaseCpuMicros: of((run) => run.revokit.databaseCpuMicros),
      machineBusy: of((run) => run.revokit.machineBusy),
      baselineMachineBusy: of((run) => run.baseline.machineBusy),
    },
    valid,
    notes,
  };
}

/** The slowest first response of a connection over the rows' runs, as text. */
function firstMax(rows: readonly ScenarioResult[], side: 'baseline' | 'revokit'): string {
  const values = rows.flatMap((row) => row.runs.map((run) => run[side].firstMax));
  const finite = values.filter((value) => Number.isFinite(value));
  return finite.length ? Math.max(...finite).toFixed(2) : '–';
}

const RATIO_GOALS: Record<StoreName, number> = {
  memory: 0.85,
  sqlite: 0.6,
  postgres: 0.4,
  redis: 0.4,
};

/**
 * CPU time of the server process per request, in µs, every thread counted: what a run
 * cost, less moved than req/s by the load generator sharing the cores.
 */
function cpuMicros(load: LoadResult): number {
  return load.requests > 0 ? (load.serverCpu * load.seconds * 1e6) / load.requests : Number.NaN;
}

function pctOrDash(value: number): string {
  return Number.isNaN(value) ? '–' : pct(value);
}

function pct(value: number): string {
  return `${Math.round(value * 100)}%`;
}

/** Where each target of the issue stands, as measured in this run. */
export function judge(report: Report): TargetResult[] {
  const out: TargetResult[] = [];
  const ok = report.stores.filter((s) => s.status !== 'not available').map((s) => s.name);
  for (const store of ok) {
    const rows = report.scenarios.filter((row) => row.store === store);
    if (rows.length === 0) continue;
    const worst = rows.reduce((a, b) => (b.median.ratio < a.median.ratio ? b : a));
    out.push({
      target: 'throughput',
      store,
      goal: `≥ ${pct(RATIO_GOALS[store])} of baseline req/s, every scenario and size`,
      measured:
        `lowest ${pct(worst.median.ratio)} (scenario ${worst.scenario} at ${worst.tokens.toLocaleString('en')} tokens); ` +
        rows
          .filter((row) => row.tokens <= 1100 || row.scenario === 1 || row.scenario === 4)
          .map((row) => `s${row.scenario} ${pct(row.median.ratio)}`)
          .join(', '),
      met: worst.median.ratio >= RATIO_GOALS[store],
    });
    for (const scenario of [2, 3] as const) {
      const small = rows.find((row) => row.scenario === scenario && row.tokens === 1e3);
      // 10^6 in the full run; a quick run stops at 10^5, which then stands in for it.
      const large = rows
        .filter((row) => row.scenario === scenario && row.tokens > 1e3 && row.tokens <= 1e6)
        .sort((a, b) => b.tokens - a.tokens)[0];
      if (!small || !large) continue;
      const raw = large.median.rps / small.median.rps - 1;
      const relative = large.median.ratio / small.median.ratio - 1;
      out.push({
        target: 'flat cost',
        store,
        goal: `scenario ${scenario}: req/s at ${tokensLabel(large.tokens)} tokens within 10% of 10^3`,
        measured: `${raw >= 0 ? '+' : ''}${pct(raw)} raw, ${relative >= 0 ? '+' : ''}${pct(relative)} as a ratio to baseline`,
        met: Math.abs(relative) <= 0.1,
      });
    }
    if (store === 'memory' || store === 'sqlite') {
      const worstP99 = rows.reduce((a, b) => (b.median.p99 > a.median.p99 ? b : a));
      out.push({
        target: 'latency',
        store,
        goal: `p99 < 10 ms at ${report.meta.connections} connections`,
        measured:
          `highest p99 ${worstP99.median.p99.toFixed(2)} ms (scenario ${worstP99.scenario} at ${worstP99.tokens.toLocaleString('en')} tokens); ` +
          `lowest ${Math.min(...rows.map((row) => row.median.p99)).toFixed(2)} ms; ` +
          `the baseline's highest in the same pairs ${Math.max(...rows.map((row) => row.median.baselineP99)).toFixed(2)} ms; ` +
          `left out, each connection's first response: up to ${firstMax(rows, 'revokit')} ms (the baseline's ${firstMax(rows, 'baseline')} ms)`,
        met: worstP99.median.p99 < 10,
      });
    }
    if (store === 'sqlite' || store === 'postgres') {
      const cascade = report.cascade.find((row) => row.store === store && row.grantSize === 10_000);
      if (cascade) {
        out.push({
          target: 'cascade',
          store,
          goal: 'revoke a 10,000-token grant in < 100 ms',
          measured: `${cascade.httpMs.toFixed(1)} ms through the endpoint${Number.isNaN(cascade.directMs) ? '' : ` (${cascade.directMs.toFixed(1)} ms for a counted revokeGrant in the store)`}`,
          met: cascade.httpMs < 100,
        });
      }
    }
  }
  return out;
}

function fmt(value: number, digits = 0): string {
  return Number.isFinite(value)
    ? value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';
}

function tokensLabel(n: number): string {
  const exponent = Math.log10(n);
  return Number.isInteger(exponent) ? `10^${exponent}` : n.toLocaleString('en');
}

export function markdown(report: Report): string {
  const { meta } = report;
  const lines: string[] = [];
  lines.push(`# revokit benchmark (${meta.mode} run)`, '');
  lines.push(
    `- Machine: ${meta.cpuCount} × ${meta.cpuModel}, ${meta.memoryGiB} GiB, ${meta.os}`,
    `- Node ${meta.node}; commit ${meta.commit}; ${meta.date}; took ${meta.seconds} s`,
    `- Load average at start: ${meta.loadAverageAtStart.join(', ')} (other work on the machine makes absolute figures swing; ratios are what compare)`,
    `- autocannon in this process, each server in a child process; ${meta.connections} connections, ` +
      `runs of ${meta.duration} s (scenario 2: ${meta.revokeAmount.toLocaleString('en')} requests), ` +
      `${meta.pairs} baseline/revokit pairs (${Array(meta.pairs).fill('B R').join(' ')}), medians reported; ratio = median of the per-pair ratios, with the lowest and highest pair's beside it`,
    "- Latency (p50, p99) leaves out each connection's first response in a run: autocannon starts its clock when it builds the client, before the TCP handshake and the run's other clients, so it times the load generator's setup (it is counted in req/s, and its median and highest are in the JSON as `firstP50`, `firstMax`)",
    `- CPU pinning: ${meta.pinning}`,
    ...(meta.skipped?.length
      ? [`- **Left out to stay within the time budget:** ${meta.skipped.join('; ')}`]
      : []),
    '- Baseline: bare `node:http` handler reading the body, `URLSearchParams`, one Basic credential compared in constant time, SHA-256 digest looked up in a `Map`, 200 `{}` with the same headers',
    '',
  );
  lines.push('## Stores', '');
  for (const store of report.stores) {
    lines.push(
      store.status === 'ok'
        ? `- ${store.name}: ${store.description}`
        : `- **${store.name}: ${store.status}** — ${store.reason}`,
    );
  }
  lines.push(
    '',
    '## Targets',
    '',
    '| target | store | goal | measured | met |',
    '|---|---|---|---|---|',
  );
  for (const t of report.targets) {
    lines.push(
      `| ${t.target} | ${t.store} | ${t.goal} | ${t.measured} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`,
    );
  }
  lines.push(
    '',
    '## Scenarios',
    '',
    '| store | scenario | stored tokens | req/s | p50 ms | p99 ms | baseline req/s | baseline p99 ms | ratio (range over pairs) | server CPU | CPU µs a request (baseline) | database CPU µs a request | machine busy (baseline) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const row of report.scenarios) {
    const m = row.median;
    const cpu = (pick: 'baseline' | 'revokit') =>
      fmt(median(row.runs.map((run) => cpuMicros(run[pick]))));
    // The spread of the pairs shows how far one run's ratio can be trusted on this host.
    const ratios = row.runs.map((run) => run.ratio);
    const range = `${pct(Math.min(...ratios)).replace('%', '')}–${pct(Math.max(...ratios))}`;
    lines.push(
      `| ${row.store} | ${row.scenario}. ${row.name}${row.valid ? '' : ' (**invalid**)'} | ${row.tokens.toLocaleString('en')} | ${fmt(m.rps)} | ${fmt(m.p50, 2)} | ${fmt(m.p99, 2)} | ${fmt(m.baselineRps)} | ${fmt(m.baselineP99, 2)} | ${pct(m.ratio)} (${range}) | ${pct(m.serverCpu)} | ${cpu('revokit')} (${cpu('baseline')}) | ${row.store === 'postgres' || row.store === 'redis' ? fmt(m.databaseCpuMicros) : '–'} | ${pctOrDash(m.machineBusy)} (${pctOrDash(m.baselineMachineBusy)}) |`,
    );
  }
  lines.push(
    '',
    '## Cascade: revoking a grant by its refresh token',
    '',
    '| store | tokens in grant | stored tokens | through the endpoint (ms, median) | `revokeGrant` alone, counting (ms, median) |',
    '|---|---:|---:|---:|---:|',
  );
  for (const row of report.cascade) {
    lines.push(
      `| ${row.store} | ${row.grantSize.toLocaleString('en')} | ${row.storedTokens.toLocaleString('en')} | ${fmt(row.httpMs, 1)}${row.valid ? '' : ' (**invalid**)'} | ${fmt(row.directMs, 1)} |`,
    );
  }
  const notes = report.scenarios.flatMap((row) =>
    row.notes.map(
      (note) => `- ${row.store}, scenario ${row.scenario} at ${tokensLabel(row.tokens)}: ${note}`,
    ),
  );
  if (notes.length) lines.push('', '## Notes', '', ...new Set(notes));
  lines.push('', `![throughput against stored tokens](${report.meta.mode}.svg)`, '');
  return lines.join('\n');
}

const COLORS: Record<StoreName, string> = {
  memory: '#2563eb',
  sqlite: '#16a34a',
  postgres: '#9333ea',
  redis: '#dc2626',
};

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!,
  );
}

/** Throughput against stored tokens, one line per store, one panel per scenario. */
export function svg(report: Report): string {
  const width = 960;
  const height = 420;
  const panelWidth = 400;
  const top = 60;
  const plotHeight = 260;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="16">revokit throughput against stored tokens (${report.meta.mode} run)</text>`,
    `<text x="${width / 2}" y="40" text-anchor="middle" fill="#555">${escapeXml(`${report.meta.cpuCount} × ${report.meta.cpuModel}, Node ${report.meta.node}, ${report.meta.connections} connections; dashed: baseline`)}</text>`,
  );
  const stores = [...new Set(report.scenarios.map((row) => row.store))];
  ([2, 3] as const).forEach((scenario, panel) => {
    const left = 80 + panel * (panelWidth + 80);
    const rows = report.scenarios.filter((row) => row.scenario === scenario);
    const sizes = [...new Set(rows.map((row) => row.tokens))].sort((a, b) => a - b);
    const maxRps = Math.max(1, ...rows.flatMap((row) => [row.median.rps, row.median.baselineRps]));
    const yMax = niceCeil(maxRps);
    const lo = Math.floor(Math.log10(Math.min(...sizes, 1e3)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...sizes, 1e6))));
    const x = (n: number) => left + ((Math.log10(n) - lo) / (hi - lo)) * panelWidth;
    const y = (rps: number) => top + plotHeight - (rps / yMax) * plotHeight;
    parts.push(
      `<text x="${left + panelWidth / 2}" y="${top - 8}" text-anchor="middle" font-weight="bold">${scenario}. ${escapeXml(SCENARIOS[scenario])}</text>`,
    );
    for (let e = lo; e <= hi; e++) {
      const px = x(10 ** e);
      parts.push(
        `<line x1="${px}" y1="${top}" x2="${px}" y2="${top + plotHeight}" stroke="#eee"/>`,
        `<text x="${px}" y="${top + plotHeight + 16}" text-anchor="middle">10<tspan dy="-5" font-size="9">${e}</tspan></text>`,
      );
    }
    for (let i = 0; i <= 4; i++) {
      const value = (yMax * i) / 4;
      parts.push(
        `<line x1="${left}" y1="${y(value)}" x2="${left + panelWidth}" y2="${y(value)}" stroke="#eee"/>`,
        `<text x="${left - 6}" y="${y(value) + 4}" text-anchor="end">${Math.round(value).toLocaleString('en')}</text>`,
      );
    }
    parts.push(
      `<line x1="${left}" y1="${top + plotHeight}" x2="${left + panelWidth}" y2="${top + plotHeight}" stroke="#333"/>`,
      `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#333"/>`,
      `<text x="${left + panelWidth / 2}" y="${top + plotHeight + 34}" text-anchor="middle">stored tokens</text>`,
      `<text transform="translate(${left - 58} ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle">req/s (median)</text>`,
    );
    for (const store of stores) {
      const points = rows.filter((row) => row.store === store).sort((a, b) => a.tokens - b.tokens);
      if (points.length === 0) continue;
      const color = COLORS[store];
      const path = (pick: (row: ScenarioResult) => number) =>
        points
          .map((row, i) => `${i ? 'L' : 'M'}${x(row.tokens).toFixed(1)},${y(pick(row)).toFixed(1)}`)
          .join(' ');
      parts.push(
        `<path d="${path((row) => row.median.baselineRps)}" fill="none" stroke="${color}" stroke-opacity="0.45" stroke-dasharray="4 3"/>`,
        `<path d="${path((row) => row.median.rps)}" fill="none" stroke="${color}" stroke-width="2"/>`,
        ...points.map(
          (row) =>
            `<circle cx="${x(row.tokens).toFixed(1)}" cy="${y(row.median.rps).toFixed(1)}" r="3" fill="${color}"><title>${store}, ${row.tokens.toLocaleString('en')} tokens: ${Math.round(row.median.rps)} req/s, ${pct(row.median.ratio)} of baseline</title></circle>`,
        ),
      );
    }
  });
  stores.forEach((store, i) => {
    const lx = 80 + i * 140;
    const ly = height - 24;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${COLORS[store]}" stroke-width="2"/>`,
      `<text x="${lx + 30}" y="${ly + 4}">${store}</text>`,
    );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

function niceCeil(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

/** Writes `<mode>.json`, `<mode>.md` and `<mode>.svg`; returns their paths. */
export async function writeReport(report: Report, dir: string): Promise<string[]> {
  report.targets = judge(report);
  await mkdir(dir, { recursive: true });
  const base = join(dir, report.meta.mode);
  await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${base}.md`, markdown(report));
  await writeFile(`${base}.svg`, svg(report));
  return [`${base}.json`, `${base}.md`, `${base}.svg`];
}

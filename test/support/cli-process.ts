import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { basic, FORM, form, type RawResponse, send } from './http-client.js';

/** The built CLI: `npm test` builds it first, as users run it. */
export const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');

function assertBuilt(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` does)`);
  }
}

/** One JSON log line of `revokit serve`. */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

/** A `revokit serve` child process. */
export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Log lines so far. */
  readonly logs: LogLine[];
  /** Sends SIGTERM and waits for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `revokit serve --port 0 ARGS` and resolves once it logs `listening`; rejects with
 * its stderr if it exits first.
 */
export function startServe(args: string[], cwd: string): Promise<ServeProcess> {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`revokit serve did not start within 20 s\n${stderr}`));
    }, 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          parsed = { level: 'raw', msg: line };
        }
        logs.push(parsed);
        if (parsed.msg === 'listening') {
          clearTimeout(timer);
          resolvePromise({
            url: String(parsed.url),
            child,
            logs,
            stop() {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
              return exited;
            },
          });
        }
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`revokit serve exited with ${code} before listening\n${stderr}`));
    });
  });
}

/** The outcome of a CLI run to completion. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `revokit ARGS` to completion (at most 30 s). */
export function runCli(args: string[], cwd: string): Promise<CliRun> {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((done, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`revokit ${args.join(' ')} did not finish within 30 s\n${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** The seed the CLI tests load: one confidential client and one grant of two tokens. */
export const SEED = {
  clients: [{ client_id: 'app', client_secret: 'app-secret' }],
  tokens: [
    {
      client_id: 'app',
      access_token: 'cli-access-1',
      refresh_token: 'cli-refresh-1',
      sub: 'alice',
      scope: 'read',
      expires_in: 3600,
    },
    {
      client_id: 'app',
      access_token: 'cli-access-2',
      refresh_token: 'cli-refresh-2',
      sub: 'bob',
      scope: 'read',
      expires_in: 3600,
    },
  ],
};

/** Writes a seed file into `dir` and returns its path. */
export function writeSeed(dir: string, seed: unknown = SEED, name = 'seed.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(seed));
  return path;
}

/** POST /oauth/revoke as `app`. */
export function revoke(url: string, token: string, secret = 'app-secret'): Promise<RawResponse> {
  return send(url, {
    path: '/oauth/revoke',
    headers: { 'content-type': FORM, authorization: basic('app', secret) },
    body: form({ token }),
  });
}

/** POST /oauth/introspect as `app`. */
export function introspect(
  url: string,
  token: string,
  secret = 'app-secret',
): Promise<RawResponse> {
  return send(url, {
    path: '/oauth/introspect',
    headers: { 'content-type': FORM, authorization: basic('app', secret) },
    body: form({ token }),
  });
}

/** Whether introspection through `url` says the token is active; asserts a 200. */
export async function isActive(url: string, token: string): Promise<boolean> {
  const res = await introspect(url, token);
  assert.equal(res.status, 200, `introspection answered ${res.status} ${res.body}`);
  return (res.json as { active: boolean }).active;
}

/** Asserts RFC 7009 §2.2.1's answer to a storage failure: 503, Retry-After. */
export function assertUnavailable(res: RawResponse): void {
  assert.equal(res.status, 503, `expected 503, got ${res.status} ${res.body}`);
  assert.equal((res.json as { error?: string }).error, 'temporarily_unavailable');
  assert.ok(res.headers['retry-after'], 'a 503 carries Retry-After');
}

/** Calls `attempt` until it returns true, at most `ms` milliseconds. */
export async function eventually(
  what: string,
  attempt: () => Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await attempt()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${ms} ms${last ? `: ${last}` : ''}`);
}

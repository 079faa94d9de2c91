import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { form, send } from '../support/http-client.js';

// Issue #4: each example, started as `revokit serve` would be, answers a revoke-then-
// introspect round trip. They import 'revokit' itself (the package's own exports, built
// into dist/ by `npm test`), so what is tested is what a reader copies.
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = ['express', 'fastify', 'hono-node', 'koa', 'node-http'];
const DEMO_APP = `Basic ${Buffer.from('demo-app:demo-app-secret').toString('base64')}`;

interface Started {
  child: ChildProcess;
  url: Promise<string>;
}

function start(name: string): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', REVOKIT_SEED: 'examples/seed.json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`examples/${name}.ts printed no URL in 30 s:\n${output}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!.replace(/\/$/, ''));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`examples/${name}.ts exited with ${code}:\n${output}`));
    });
  });
  url.catch(() => {});
  return { child, url };
}

describe('examples: each is a working server (issue #4)', () => {
  const started = new Map<string, Started>();
  before(() => {
    for (const name of EXAMPLES) started.set(name, start(name));
  });
  after(() => {
    for (const { child } of started.values()) child.kill();
  });

  for (const name of EXAMPLES) {
    it(`examples/${name}.ts: revoking the refresh token makes its access token inactive (RFC 7009 §2.1, RFC 7662 §2.2)`, {
      timeout: 60_000,
    }, async () => {
      const base = await started.get(name)!.url;
      const introspect = () =>
        send(base, {
          path: '/oauth/introspect',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form({
            client_id: 'demo-api',
            client_secret: 'demo-api-secret',
            token: 'demo-access-token',
          }),
        });
      const before = await introspect();
      assert.equal(before.status, 200, before.body);
      assert.equal((before.json as { active?: unknown }).active, true);

      const revoked = await send(base, {
        path: '/oauth/revoke',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: DEMO_APP },
        body: form({ token: 'demo-refresh-token', token_type_hint: 'refresh_token' }),
      });
      assert.equal(revoked.status, 200, revoked.body);
      assert.deepEqual(revoked.json, {});

      const afterwards = await introspect();
      assert.deepEqual(afterwards.json, { active: false });

      const get = await send(base, { method: 'GET', path: '/oauth/revoke' });
      assert.equal(get.status, 405, 'other methods get the contract’s 405');
    });
  }
});

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import express from 'express';
import { routes } from '../../src/adapters/express.js';
import { toNodeHandler } from '../../src/adapters/node.js';
import { readInTurn, writeInTurn } from '../../src/adapters/turn-writer.js';
import { MemoryClientStore } from '../../src/client-auth/client-store.js';
import { createRevocationEndpoint } from '../../src/rfc7009/create-revocation-endpoint.js';
import { AuthorizationServer } from '../../src/server/authorization-server.js';
import { MemoryTokenStore } from '../../src/stores/memory/memory-token-store.js';
import type { TokenStore } from '../../src/stores/token-store.js';
import { assertRevoked200, type Mounted } from '../support/endpoint-suite.js';
import { CLIENTS, isRevoked, issueGrant } from '../support/fixtures.js';
import { form } from '../support/http-client.js';
import { listen, revoke } from './support.js';

// Issue #5 (docs/benchmarks.md, thirteenth round): an answer ready in the event-loop turn
// that read its request is written when that turn ends, with the turn's other answers; an
// answer ready later is written at once.

describe('turn-writer: writes queued for the end of the turn that read their requests (issue #5)', () => {
  it('a write for the running turn waits for its setImmediate callbacks, in order', async () => {
    const log: string[] = [];
    const readIn = readInTurn();
    setImmediate(() => log.push('immediate queued after the turn’s end'));
    writeInTurn(readIn, () => log.push('write 1'));
    writeInTurn(readIn, () => log.push('write 2'));
    await Promise.resolve();
    assert.deepEqual(log, [], 'nothing is written within the turn');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log, ['write 1', 'write 2', 'immediate queued after the turn’s end']);
  });

  it('a write for a turn that has ended runs at once', async () => {
    const readIn = readInTurn();
    // The turn ends in the setImmediate readInTurn queued, ahead of this one. A timer is
    // not enough: when this runs in the check phase, the next loop's timers run first, so
    // under load a 5 ms sleep could end before the turn did (CI, 2026-12-04).
    await new Promise((resolve) => setImmediate(resolve));
    let written = false;
    writeInTurn(readIn, () => {
      written = true;
    });
    assert.equal(written, true);
  });

  it('a request read in a later turn queues for that turn’s end, not an earlier one', async () => {
    const first = readInTurn();
    await new Promise((resolve) => setImmediate(resolve));
    const second = readInTurn();
    assert.notEqual(second, first);
    const log: string[] = [];
    writeInTurn(second, () => log.push('second'));
    assert.deepEqual(log, []);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log, ['second']);
  });
});

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** A server with a revocation endpoint over `store`. */
async function serverOver(store: TokenStore): Promise<AuthorizationServer> {
  const clients = await MemoryClientStore.fromMetadata(CLIENTS);
  const server = new AuthorizationServer({ clients });
  server.registerEndpoint(createRevocationEndpoint(store));
  return server;
}

/** The two adapters that write through the turn writer: node:http and Express. */
const ADAPTERS: [string, (server: AuthorizationServer) => NodeHandler][] = [
  ['toNodeHandler', (server) => toNodeHandler(server)],
  [
    'Express routes()',
    (server) => {
      const app = express();
      app.use(routes(server));
      return app as unknown as NodeHandler;
    },
  ],
];

/** Counts calls of `res.end` into `log`. */
function recordEnd(res: ServerResponse, log: string[], label: string): void {
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.end = ((...args: unknown[]) => {
    log.push(label);
    return end(...args);
  }) as ServerResponse['end'];
}

/**
 * A server that holds requests until two are here, then hands both to `handler` in one
 * turn, as a busy server reads several in one poll; `log` (when given) gets a marker queued
 * first, telling the turn's end from before it, and each answer's `res.end`. A request with
 * `x-refuse-write` gets a `writeHead` that throws, like a header Node refuses.
 */
function listenHoldingTwo(handler: NodeHandler, log?: string[]): Promise<Mounted> {
  let held: [IncomingMessage, ServerResponse][] = [];
  return listen(
    createServer((req, res) => {
      held.push([req, res]);
      if (held.length < 2) return;
      if (log) setImmediate(() => log.push('turn ends'));
      for (const [i, [q, s]] of held.entries()) {
        if (log) recordEnd(s, log, `answer ${i + 1}`);
        if (q.headers['x-refuse-write'] !== undefined) {
          s.writeHead = () => {
            throw new TypeError('a header Node refuses');
          };
        }
        handler(q, s);
      }
      held = [];
    }),
  );
}

for (const [adapter, makeHandler] of ADAPTERS) {
  describe(`${adapter}: answers of one turn leave together, at its end (issue #5)`, () => {
    const store = new MemoryTokenStore();
    const log: string[] = [];
    let mounted: Mounted;
    before(async () => {
      mounted = await listenHoldingTwo(makeHandler(await serverOver(store)), log);
    });
    after(() => mounted.close());

    it('a synchronous store’s answers are written after the turn’s callbacks start, back to back', async () => {
      log.length = 0;
      const [a, b] = [await issueGrant(store, 'app'), await issueGrant(store, 'app')];
      const answers = await Promise.all(
        [a, b].map((grant) => revoke(mounted.url, '/oauth/revoke', form({ token: grant.access }))),
      );
      for (const answer of answers) assertRevoked200(answer);
      assert.deepEqual(log, ['turn ends', 'answer 1', 'answer 2']);
      assert.equal(await isRevoked(store, a.access), true);
      assert.equal(await isRevoked(store, b.access), true);
    });

    it('a write Node refuses ends its own connection only; the turn’s other answers still leave', async () => {
      log.length = 0;
      const [a, b] = [await issueGrant(store, 'app'), await issueGrant(store, 'app')];
      const refused = revoke(mounted.url, '/oauth/revoke', form({ token: a.access }), {
        'x-refuse-write': '1',
      });
      // The refused request is first in the turn's queue, so a throw there would drop the next.
      await sleep(50);
      const served = revoke(mounted.url, '/oauth/revoke', form({ token: b.access }));
      await assert.rejects(refused, /socket hang up|ECONNRESET/);
      assertRevoked200(await served);
      assert.equal(await isRevoked(store, b.access), true);
    });
  });
}

describe('toNodeHandler: an answer ready in a later turn is written at once (issue #5)', () => {
  const log: string[] = [];
  const memory = new MemoryTokenStore();
  /** Revokes a timer later, like a database; marks the end of the turn its reply is in. */
  const store: TokenStore = {
    findToken: (id) => memory.findToken(id),
    revokeToken: (id, at) => memory.revokeToken(id, at),
    revokeGrant: (grantId, at) => memory.revokeGrant(grantId, at),
    saveTokens: (tokens) => memory.saveTokens(tokens),
    async revokeTokenIf(id, conditions) {
      await sleep(20);
      setImmediate(() => log.push('turn of the reply ends'));
      return memory.revokeTokenIf(id, conditions);
    },
  };
  let mounted: Mounted;
  before(async () => {
    const handler = toNodeHandler(await serverOver(store));
    mounted = await listen(
      createServer((req, res) => {
        recordEnd(res, log, 'answer');
        handler(req, res);
      }),
    );
  });
  after(() => mounted.close());

  it('written in the turn the store replied in, before that turn ends', async () => {
    const grant = await issueGrant(store, 'app');
    log.length = 0;
    assertRevoked200(await revoke(mounted.url, '/oauth/revoke', form({ token: grant.access })));
    // The client may read the answer in the poll phase before that turn's check phase.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(log, ['answer', 'turn of the reply ends']);
    assert.equal(await isRevoked(store, grant.access), true);
  });
});

describe('toNodeHandler: a 500 Node refuses to write ends its own connection only (issue #5)', () => {
  let mounted: Mounted;
  before(async () => {
    // An endpoint name never registered makes every request reject: the 500 path.
    const server = await serverOver(new MemoryTokenStore());
    mounted = await listenHoldingTwo(toNodeHandler(server, { endpoint: 'never-registered' }));
  });
  after(() => mounted.close());

  it('the refused 500 resets its connection; the next answer in the turn is still a JSON 500', async () => {
    const refused = revoke(mounted.url, '/oauth/revoke', form({ token: 'x' }), {
      'x-refuse-write': '1',
    });
    await sleep(50);
    const served = revoke(mounted.url, '/oauth/revoke', form({ token: 'y' }));
    await assert.rejects(refused, /socket hang up|ECONNRESET/);
    const answer = await served;
    assert.equal(answer.status, 500);
    assert.deepEqual(JSON.parse(answer.body), { error: 'server_error' });
  });
});

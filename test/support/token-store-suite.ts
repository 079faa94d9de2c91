import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from '../../src/client-auth/client.js';
import type { WritableClientStore } from '../../src/client-auth/client-store.js';
import { sameClient } from '../../src/client-auth/client-store.js';
import type { ReplayCache } from '../../src/client-auth/jti-cache.js';
import { sha256 } from '../../src/crypto/digest.js';
import type {
  RevocationConditions,
  StoredToken,
  TokenStore,
} from '../../src/stores/token-store.js';
import { isActive } from '../../src/tokens/token.js';

/** A store under test, and a way to reach the same data as a second server would. */
export interface StoreUnderTest {
  tokens: TokenStore;
  clients?: WritableClientStore;
  /** A second store on the same data with a connection of its own (a second server). */
  peer?(): Promise<{ tokens: TokenStore; close(): Promise<void> }>;
  close(): Promise<void>;
}

/** Options of {@link runTokenStoreSuite}. */
export interface TokenStoreSuiteOptions {
  /** Builds the store once for the suite; tests use fresh random ids, never shared ones. */
  create(): Promise<StoreUnderTest>;
}

const now = () => Math.floor(Date.now() / 1000);
const uid = (prefix: string) => `${prefix}-${randomBytes(8).toString('hex')}`;
const digest = async (prefix: string) => sha256(uid(prefix));

interface GrantShape {
  clientId?: string;
  sub?: string;
  generations?: number;
  expiresIn?: number;
}

/** A grant of several rotated generations: an access and a refresh token each. */
async function makeGrant(
  shape: GrantShape = {},
): Promise<{ grantId: string; tokens: StoredToken[] }> {
  const grantId = uid('grant');
  const clientId = shape.clientId ?? uid('client');
  const issuedAt = now() - 60;
  const tokens: StoredToken[] = [];
  for (let i = 0; i < (shape.generations ?? 1); i++) {
    tokens.push({
      id: await digest('at'),
      type: 'access_token',
      clientId,
      grantId,
      issuedAt: issuedAt + i,
      expiresAt: now() + (shape.expiresIn ?? 3600),
      scope: 'read write',
      sub: shape.sub ?? 'alice',
    });
    tokens.push({
      id: await digest('rt'),
      type: 'refresh_token',
      clientId,
      grantId,
      issuedAt: issuedAt + i,
      scope: 'read write',
      sub: shape.sub ?? 'alice',
    });
  }
  return { grantId, tokens };
}

/** The fields that hold a value: an absent field and an `undefined` one read the same. */
function defined<T extends object>(value: T | undefined): Partial<T> | undefined {
  if (!value) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function revokedAt(store: TokenStore, id: string): Promise<number | undefined> {
  const found = await store.findToken(id);
  assert.ok(found, `token ${id.slice(0, 8)} is missing`);
  return found.revokedAt;
}

async function assertAllRevoked(store: TokenStore, tokens: readonly StoredToken[], at?: number) {
  for (const token of tokens) {
    const value = await revokedAt(store, token.id);
    assert.notEqual(value, undefined, `${token.type} ${token.id.slice(0, 8)} is not revoked`);
    if (at !== undefined) assert.equal(value, at);
  }
}

async function assertNoneRevoked(store: TokenStore, tokens: readonly StoredToken[]) {
  for (const token of tokens) {
    assert.equal(await revokedAt(store, token.id), undefined, `${token.type} was revoked`);
  }
}

/**
 * The conformance suite of issue #3: every store, memory, SQLite, PostgreSQL and Redis,
 * runs it unchanged. Each test names the clause it checks.
 */
export function runTokenStoreSuite(name: string, options: TokenStoreSuiteOptions): void {
  describe(`token store conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: TokenStore;
    before(async () => {
      sut = await options.create();
      store = sut.tokens;
      await store.migrate?.();
    });
    after(() => sut?.close());

    describe('issue #3 "Digests, not values" (RFC 7009 §2.1, RFC 9700 §4.14.2)', () => {
      it('a token saved under its digest reads back field for field', async () => {
        const value = uid('secret-token-value');
        const token: StoredToken = {
          id: await sha256(value),
          type: 'access_token',
          clientId: uid('client'),
          grantId: uid('grant'),
          issuedAt: now() - 5,
          expiresAt: now() + 600,
          scope: 'openid profile',
          sub: 'user:42',
        };
        assert.equal(await store.saveTokens([token]), 1);
        assert.deepEqual(defined(await store.findToken(token.id)), token);
        assert.equal(await store.findToken(value), undefined, 'the value itself is no key');
      });
      it('absent optional fields read back as undefined, not null', async () => {
        const token: StoredToken = {
          id: await digest('bare'),
          type: 'refresh_token',
          clientId: uid('client'),
          grantId: uid('grant'),
          issuedAt: now(),
        };
        await store.saveTokens([token]);
        const found = await store.findToken(token.id);
        assert.ok(found);
        for (const key of ['expiresAt', 'revokedAt', 'scope', 'sub'] as const) {
          assert.equal(found[key], undefined, key);
        }
      });
      it('an empty scope and an empty subject read back as empty, not as absent (RFC 7662 §2.2)', async () => {
        const token: StoredToken = {
          id: await digest('empty'),
          type: 'access_token',
          clientId: uid('client'),
          grantId: uid('grant'),
          issuedAt: now(),
          scope: '',
          sub: '',
        };
        await store.saveTokens([token]);
        assert.deepEqual(defined(await store.findToken(token.id)), token);
      });
      it('an unknown digest is not found (RFC 7009 §2.2: answered 200)', async () => {
        assert.equal(await store.findToken(await digest('unknown')), undefined);
      });
      it('an empty save inserts nothing', async () => {
        assert.equal(await store.saveTokens([]), 0);
      });
    });

    describe('issue #3 "Seeding": saveTokens is insert-if-absent', () => {
      it('saving twice inserts once and changes nothing', async () => {
        const { tokens } = await makeGrant();
        assert.equal(await store.saveTokens(tokens), tokens.length);
        const changed = tokens.map((t) => ({ ...t, scope: 'admin', clientId: 'mallory' }));
        assert.equal(await store.saveTokens(changed), 0);
        for (const token of tokens) {
          const found = await store.findToken(token.id);
          assert.equal(found?.scope, 'read write');
          assert.equal(found?.clientId, token.clientId);
        }
      });
      it('re-saving a revoked token never un-revokes it (RFC 9700 §4.14)', async () => {
        const { tokens } = await makeGrant();
        await store.saveTokens(tokens);
        const at = now() - 30;
        assert.equal(await store.revokeToken(tokens[0]!.id, at), 1);
        assert.equal(await store.saveTokens(tokens), 0);
        assert.equal(await revokedAt(store, tokens[0]!.id), at);
      });
      it('a token saved already revoked stays revoked', async () => {
        const { tokens } = await makeGrant();
        const at = now() - 100;
        await store.saveTokens(tokens.map((t) => ({ ...t, revokedAt: at })));
        await assertAllRevoked(store, tokens, at);
      });
    });

    describe('issue #3 "Grants": revocation scope (RFC 7009 §2.1)', () => {
      it('revoking an access token revokes only that token', async () => {
        const { tokens } = await makeGrant({ generations: 2 });
        const other = await makeGrant();
        await store.saveTokens([...tokens, ...other.tokens]);
        const at = now();
        assert.equal(await store.revokeToken(tokens[0]!.id, at), 1);
        assert.equal(await revokedAt(store, tokens[0]!.id), at);
        await assertNoneRevoked(store, tokens.slice(1));
        await assertNoneRevoked(store, other.tokens);
      });
      it('revoking a grant revokes every token of every rotated generation, atomically', async () => {
        const grant = await makeGrant({ generations: 4 });
        const sibling = await makeGrant({ clientId: grant.tokens[0]!.clientId });
        await store.saveTokens([...grant.tokens, ...sibling.tokens]);
        const at = now();
        assert.equal(await store.revokeGrant(grant.grantId, at), 8);
        await assertAllRevoked(store, grant.tokens, at);
        await assertNoneRevoked(store, sibling.tokens);
      });
      it('a token already revoked keeps its first revocation time and is not counted', async () => {
        const grant = await makeGrant({ generations: 2 });
        await store.saveTokens(grant.tokens);
        const first = now() - 500;
        await store.revokeToken(grant.tokens[1]!.id, first);
        assert.equal(await store.revokeGrant(grant.grantId, now()), 3);
        assert.equal(await revokedAt(store, grant.tokens[1]!.id), first);
      });
      it('a token saved into a revoked grant is stored revoked (a rotation racing the revocation)', async () => {
        const grant = await makeGrant();
        await store.saveTokens(grant.tokens);
        const at = now() - 3;
        await store.revokeGrant(grant.grantId, at);
        const late = (await makeGrant({ clientId: grant.tokens[0]!.clientId })).tokens.map((t) => ({
          ...t,
          grantId: grant.grantId,
        }));
        assert.equal(await store.saveTokens(late), late.length);
        await assertAllRevoked(store, late, at);
      });
      it('revoking a grant nobody has stored revokes nothing', async () => {
        assert.equal(await store.revokeGrant(uid('grant'), now()), 0);
      });
      it('a token of a revoked grant is revoked already: revoking it counts 0 and keeps the grant time (issue #5 "Cascade")', async () => {
        const grant = await makeGrant({ generations: 2 });
        await store.saveTokens(grant.tokens);
        const at = now() - 20;
        assert.equal(await store.revokeGrant(grant.grantId, at), 4);
        assert.equal(await store.revokeToken(grant.tokens[0]!.id, now()), 0);
        assert.equal(await store.revokeWhere?.({ clientId: grant.tokens[0]!.clientId }, now()), 0);
        await assertAllRevoked(store, grant.tokens, at);
      });
      it('a 10,000-token grant is revoked at once, every token counted once (issue #5 "Cascade")', async () => {
        const grantId = uid('grant');
        const clientId = uid('client');
        const tokens: StoredToken[] = [];
        for (let i = 0; i < 10_000; i++) {
          tokens.push({
            id: await digest('big'),
            type: i % 2 ? 'refresh_token' : 'access_token',
            clientId,
            grantId,
            issuedAt: now() - 60,
          });
        }
        await store.saveTokens(tokens);
        const first = now() - 30;
        await store.revokeToken(tokens[5]!.id, first);
        const at = now();
        assert.equal(await store.revokeGrant(grantId, at), 9_999);
        for (const token of [tokens[0]!, tokens[4_999]!, tokens[9_999]!]) {
          assert.equal(await revokedAt(store, token.id), at);
        }
        assert.equal(await revokedAt(store, tokens[5]!.id), first);
      });
      it('revoking a grant uncounted ({ count: false }, what the endpoint asks) revokes exactly what the counted call does (issue #5 "Cascade")', async () => {
        const grant = await makeGrant({ generations: 3 });
        const sibling = await makeGrant({ clientId: grant.tokens[0]!.clientId });
        await store.saveTokens([...grant.tokens, ...sibling.tokens]);
        const first = now() - 500;
        await store.revokeToken(grant.tokens[2]!.id, first);
        const at = now() - 5;
        await store.revokeGrant(grant.grantId, at, { count: false });
        assert.equal(await revokedAt(store, grant.tokens[2]!.id), first);
        await assertAllRevoked(store, [...grant.tokens.slice(0, 2), ...grant.tokens.slice(3)], at);
        await assertNoneRevoked(store, sibling.tokens);
        // The grant stays marked: counted or not, a second revocation finds nothing new,
        // and a token saved into it later is born revoked, at the grant's time.
        assert.equal(await store.revokeGrant(grant.grantId, now()), 0);
        const late = (await makeGrant({ clientId: grant.tokens[0]!.clientId })).tokens.map((t) => ({
          ...t,
          grantId: grant.grantId,
        }));
        await store.saveTokens(late);
        await assertAllRevoked(store, late, at);
      });
      it('a grant revoked uncounted first is not revoked again by a counted call, nor by a second uncounted one (issue #5 "Cascade")', async () => {
        const grant = await makeGrant({ generations: 2 });
        await store.saveTokens(grant.tokens);
        const at = now() - 7;
        await store.revokeGrant(grant.grantId, at, { count: false });
        await store.revokeGrant(grant.grantId, now(), { count: false });
        assert.equal(await store.revokeGrant(grant.grantId, now(), { count: true }), 0);
        await assertAllRevoked(store, grant.tokens, at);
      });
    });

    describe('issue #3: idempotent revocation (RFC 7009 §2.2: already revoked answers 200)', () => {
      it('revoking a token twice counts once and keeps the first time', async () => {
        const { tokens } = await makeGrant();
        await store.saveTokens(tokens);
        const at = now() - 10;
        assert.equal(await store.revokeToken(tokens[0]!.id, at), 1);
        assert.equal(await store.revokeToken(tokens[0]!.id, at + 5), 0);
        assert.equal(await revokedAt(store, tokens[0]!.id), at);
      });
      it('revoking a grant twice counts once', async () => {
        const grant = await makeGrant({ generations: 2 });
        await store.saveTokens(grant.tokens);
        assert.equal(await store.revokeGrant(grant.grantId, now()), 4);
        assert.equal(await store.revokeGrant(grant.grantId, now()), 0);
      });
      it('revoking an unknown token counts nothing', async () => {
        assert.equal(await store.revokeToken(await digest('nothing'), now()), 0);
      });
    });

    describe('issue #5: revokeTokenIf finds and revokes in one step, only when every condition holds (RFC 7009 §2.1)', () => {
      const revokeIf = (id: string, conditions: RevocationConditions) => {
        assert.equal(
          typeof store.revokeTokenIf,
          'function',
          'revokit stores implement revokeTokenIf',
        );
        return store.revokeTokenIf!(id, conditions);
      };
      const accessOnly = (clientId: string, at = now()): RevocationConditions => ({
        clientId,
        types: ['access_token'],
        at,
      });

      it('revokes an active token of the client and type, answers it as it was, and only once', async () => {
        const { tokens } = await makeGrant({ generations: 2 });
        await store.saveTokens(tokens);
        const access = tokens[0]!;
        const at = now() - 5;
        const first = await revokeIf(access.id, accessOnly(access.clientId, at));
        assert.equal(first.revoked, true);
        assert.deepEqual(defined(first.token), defined(access), 'the token before the step');
        assert.equal(await revokedAt(store, access.id), at);
        const again = await revokeIf(access.id, accessOnly(access.clientId, at + 3));
        assert.equal(again.revoked, false);
        assert.equal(again.token?.revokedAt, at, 'the first time stands');
        // Only the token: the rest of its grant stays active.
        await assertNoneRevoked(store, tokens.slice(1));
      });

      it('changes nothing for a token of another client, of another type, expired, revoked, or of a revoked grant', async () => {
        const live = await makeGrant();
        const expired = await makeGrant({ expiresIn: -60 });
        const revoked = await makeGrant();
        const cascaded = await makeGrant({ generations: 2 });
        await store.saveTokens([
          ...live.tokens,
          ...expired.tokens,
          ...revoked.tokens,
          ...cascaded.tokens,
        ]);
        await store.revokeToken(revoked.tokens[0]!.id, now() - 30);
        await store.revokeGrant(cascaded.grantId, now() - 20);
        const [access, refresh] = live.tokens as [StoredToken, StoredToken];
        const cases: [string, StoredToken, RevocationConditions][] = [
          ['another client', access, accessOnly('someone-else')],
          ['a type not asked for', refresh, accessOnly(refresh.clientId)],
          ['expired', expired.tokens[0]!, accessOnly(expired.tokens[0]!.clientId)],
          ['already revoked', revoked.tokens[0]!, accessOnly(revoked.tokens[0]!.clientId)],
          ['of a revoked grant', cascaded.tokens[2]!, accessOnly(cascaded.tokens[2]!.clientId)],
        ];
        for (const [why, token, conditions] of cases) {
          const before = await store.findToken(token.id);
          const outcome = await revokeIf(token.id, conditions);
          assert.equal(outcome.revoked, false, why);
          assert.deepEqual(defined(outcome.token), defined(before), `${why}: the token as stored`);
          assert.deepEqual(
            defined(await store.findToken(token.id)),
            defined(before),
            `${why}: unchanged`,
          );
        }
        await assertNoneRevoked(store, live.tokens);
        assert.equal(
          (
            await revokeIf(refresh.id, {
              ...accessOnly(refresh.clientId),
              types: ['refresh_token'],
            })
          ).revoked,
          true,
          'the refresh token, once its type is asked for',
        );
      });

      it('an expiry at the revocation time itself is expired (RFC 7662 §2.2: active only before exp)', async () => {
        const { tokens } = await makeGrant();
        await store.saveTokens(tokens);
        const access = tokens[0]!;
        const outcome = await revokeIf(access.id, accessOnly(access.clientId, access.expiresAt!));
        assert.equal(outcome.revoked, false);
        await assertNoneRevoked(store, tokens);
      });

      it('an unknown token: nothing found, nothing revoked', async () => {
        assert.deepEqual(await revokeIf(await digest('nothing'), accessOnly('anyone')), {
          token: undefined,
          revoked: false,
        });
      });

      it('calls of one turn: each judged alone, a token asked twice revoked by the first asking', async () => {
        const a = await makeGrant();
        const b = await makeGrant();
        await store.saveTokens([...a.tokens, ...b.tokens]);
        const at = now() - 2;
        const [first, second, other, foreign] = await Promise.all([
          revokeIf(a.tokens[0]!.id, accessOnly(a.tokens[0]!.clientId, at)),
          revokeIf(a.tokens[0]!.id, accessOnly(a.tokens[0]!.clientId, at + 1)),
          revokeIf(b.tokens[0]!.id, accessOnly(b.tokens[0]!.clientId, at)),
          revokeIf(b.tokens[1]!.id, {
            ...accessOnly('someone-else', at),
            types: ['refresh_token'],
          }),
        ]);
        assert.equal(first?.revoked, true);
        assert.equal(second?.revoked, false);
        assert.equal(second?.token?.revokedAt, at, 'the second asking finds it revoked');
        assert.equal(other?.revoked, true);
        assert.equal(foreign?.revoked, false);
        assert.equal(await revokedAt(store, a.tokens[0]!.id), at);
        assert.equal(await revokedAt(store, b.tokens[0]!.id), at);
        await assertNoneRevoked(store, [a.tokens[1]!, b.tokens[1]!]);
      });
    });

    describe('issue #3 "Revoked and expired tokens" (RFC 7662 §2.2 active)', () => {
      it('an expired token is kept with its expiry and reads inactive', async () => {
        const { tokens } = await makeGrant({ expiresIn: -120 });
        await store.saveTokens(tokens);
        const found = await store.findToken(tokens[0]!.id);
        assert.ok(found);
        assert.equal(found.expiresAt, tokens[0]!.expiresAt);
        assert.equal(isActive(found), false);
      });
      it('a token without expiry reads active until revoked, then inactive', async () => {
        const { tokens } = await makeGrant();
        await store.saveTokens(tokens);
        const refresh = tokens[1]!;
        assert.equal(isActive((await store.findToken(refresh.id))!), true);
        await store.revokeToken(refresh.id, now());
        assert.equal(isActive((await store.findToken(refresh.id))!), false);
      });
      it('revoked tokens are marked, not deleted (RFC 9700 §4.14: replay is recognised)', async () => {
        const grant = await makeGrant();
        await store.saveTokens(grant.tokens);
        await store.revokeGrant(grant.grantId, now());
        for (const token of grant.tokens) assert.ok(await store.findToken(token.id));
      });
    });

    describe('issue #3 "purge": expired and past retention, in bounded batches', () => {
      it('deletes only what ended before the cutoff, whatever the batch size', async () => {
        assert.ok(store.purge, 'the store implements purge');
        const t = now();
        const clientId = uid('client');
        const token = async (expiresAt: number | undefined, revoked?: number) => ({
          id: await digest('p'),
          type: 'access_token' as const,
          clientId,
          grantId: uid('grant'),
          issuedAt: t - 7200,
          expiresAt,
          revokedAt: revoked,
        });
        const old = await Promise.all(Array.from({ length: 23 }, () => token(t - 3000)));
        const oldRevokedNoExpiry = await token(undefined, t - 3000);
        const recent = await token(t - 100);
        const live = await token(t + 3600);
        const forever = await token(undefined);
        const recentlyRevoked = await token(undefined, t - 100);
        const all = [...old, oldRevokedNoExpiry, recent, live, forever, recentlyRevoked];
        await store.saveTokens(all);
        // Other tests' expired tokens may go too; count only what this test owns.
        await store.purge({ expiredBefore: t - 1000, batchSize: 5 });
        for (const gone of [...old, oldRevokedNoExpiry]) {
          assert.equal(await store.findToken(gone.id), undefined, 'an old token survived purge');
        }
        for (const kept of [recent, live, forever, recentlyRevoked]) {
          assert.ok(await store.findToken(kept.id), 'a token inside retention was purged');
        }
        assert.equal(await store.purge({ expiredBefore: t - 1000, batchSize: 5 }), 0);
      });
      it('reports how many tokens it deleted', async () => {
        const t = now();
        const grant = await makeGrant({ expiresIn: -2000, generations: 3 });
        const accessTokens = grant.tokens.filter((x) => x.type === 'access_token');
        await store.saveTokens(accessTokens);
        const purged = await store.purge!({ expiredBefore: t - 1000 });
        assert.ok(purged >= accessTokens.length, `purged ${purged}`);
        assert.equal(await store.findToken(accessTokens[0]!.id), undefined);
      });
      it('a token without expiry goes once its grant was revoked before the cutoff (issue #5 "Cascade")', async () => {
        const t = now();
        const old = await makeGrant({ expiresIn: 7200 });
        const recent = await makeGrant({ expiresIn: 7200 });
        await store.saveTokens([...old.tokens, ...recent.tokens]);
        await store.revokeGrant(old.grantId, t - 3000);
        await store.revokeGrant(recent.grantId, t - 100);
        await store.purge!({ expiredBefore: t - 1000, batchSize: 1 });
        const [oldAccess, oldRefresh] = old.tokens;
        assert.ok(await store.findToken(oldAccess!.id), 'an unexpired access token stays');
        assert.equal(await store.findToken(oldRefresh!.id), undefined, 'the refresh token went');
        for (const kept of recent.tokens) assert.ok(await store.findToken(kept.id));
      });
      it('after a purge took some of its tokens, revoking the grant still revokes the rest (RFC 7009 §2.1 cascade)', async () => {
        const t = now();
        const grant = await makeGrant({ expiresIn: 7200, generations: 3 });
        const expired = grant.tokens.map((token, i) =>
          i === 0 ? { ...token, expiresAt: t - 3000 } : token,
        );
        await store.saveTokens(expired);
        await store.purge!({ expiredBefore: t - 1000 });
        assert.equal(await store.findToken(expired[0]!.id), undefined, 'the expired token went');
        assert.equal(await store.revokeGrant(grant.grantId, t), expired.length - 1);
        for (const token of expired.slice(1)) {
          assert.equal(isActive((await store.findToken(token.id))!), false);
        }
      });
      it('a purged grant can be revoked again without error', async () => {
        const grant = await makeGrant({ expiresIn: -2000 });
        await store.saveTokens(grant.tokens);
        await store.revokeGrant(grant.grantId, now() - 1500);
        await store.purge!({ expiredBefore: now() - 1000 });
        assert.equal(await store.revokeGrant(grant.grantId, now()), 0);
      });
    });

    describe('issue #3 "Seeding a persistent store": a seed stores a token once in the store\'s life', () => {
      const seeded = async (revokedAt?: number): Promise<StoredToken> => ({
        id: await digest('seed'),
        type: 'refresh_token',
        clientId: uid('client'),
        grantId: uid('grant'),
        issuedAt: now() - 7200,
        revokedAt,
      });
      it('stores a token absent from the ledger, and nothing the second time', async () => {
        assert.ok(store.saveTokensOnce, 'the store implements saveTokensOnce');
        const token = await seeded();
        assert.equal(await store.saveTokensOnce([token, token]), 1);
        assert.equal(await store.saveTokensOnce([token]), 0);
        assert.equal(isActive((await store.findToken(token.id))!), true);
      });
      it('a seeded token revoked and purged is not stored again: it stays inactive (RFC 7009 §2.2)', async () => {
        const t = now();
        const token = await seeded();
        const other = await seeded();
        assert.equal(await store.saveTokensOnce!([token]), 1);
        assert.equal(await store.revokeToken(token.id, t - 3000), 1);
        await store.purge!({ expiredBefore: t - 1000 });
        assert.equal(await store.findToken(token.id), undefined, 'purge deleted the token');
        // The same seed applied again, as revokit serve --seed does at every start.
        assert.equal(await store.saveTokensOnce!([{ ...token, issuedAt: t }, other]), 1);
        assert.equal(await store.findToken(token.id), undefined, 'a purged token came back');
        assert.ok(await store.findToken(other.id), 'a new token of the seed is stored');
      });
      it('a token saved by saveTokens and revoked stays revoked when a seed lists it', async () => {
        const token = await seeded();
        await store.saveTokens([token]);
        await store.revokeToken(token.id, now());
        assert.equal(await store.saveTokensOnce!([token]), 0);
        assert.equal(isActive((await store.findToken(token.id))!), false);
      });
    });

    describe('issue #3 "one small interface": every store refuses a token it cannot hold, the same way', () => {
      const good = async (): Promise<StoredToken> => ({
        id: await digest('ok'),
        type: 'access_token',
        clientId: uid('client'),
        grantId: uid('grant'),
        issuedAt: now(),
        expiresAt: now() + 3600,
      });
      const cases: [string, (token: StoredToken) => unknown, RegExp][] = [
        ['without grantId', ({ grantId: _, ...rest }) => rest, /tokens\[1\]\.grantId/],
        ['with an empty id', (token) => ({ ...token, id: '' }), /tokens\[1\]\.id/],
        ['without clientId', ({ clientId: _, ...rest }) => rest, /tokens\[1\]\.clientId/],
        ['of an unknown type', (token) => ({ ...token, type: 'id_token' }), /tokens\[1\]\.type/],
        ['with issuedAt a string', (token) => ({ ...token, issuedAt: '1' }), /issuedAt/],
        ['with expiresAt NaN', (token) => ({ ...token, expiresAt: Number.NaN }), /expiresAt/],
        ['with a numeric scope', (token) => ({ ...token, scope: 7 }), /scope/],
        ['that is not an object', () => null, /tokens\[1\] must be an object/],
      ];
      it('saveTokens refuses one grant given to two clients in one call, storing none (RFC 7009 §2.1: a cascade stays in one client)', async () => {
        const first = await good();
        const second = { ...(await good()), grantId: first.grantId };
        await assert.rejects(
          async () => store.saveTokens([first, second]),
          (error: Error) =>
            error instanceof TypeError && /tokens\[1\]\.grantId/.test(error.message),
        );
        assert.equal(await store.findToken(first.id), undefined);
      });
      for (const [name, spoil, pattern] of cases) {
        it(`saveTokens and saveTokensOnce refuse a token ${name} (TypeError), and store none of the batch`, async () => {
          for (const method of ['saveTokens', 'saveTokensOnce'] as const) {
            const first = await good();
            const bad = spoil(await good()) as StoredToken;
            await assert.rejects(
              async () => store[method]!([first, bad]),
              (error: Error) => error instanceof TypeError && pattern.test(error.message),
            );
            assert.equal(await store.findToken(first.id), undefined, `${method} stored part of it`);
            // Refused before the ledger: the same token, made whole, is still stored.
            assert.equal(await store[method]!([first]), 1);
          }
        });
      }
    });

    describe('issue #3 "Bulk revocation for operators"', () => {
      it('by client: every token of the client, across grants, and nothing else', async () => {
        assert.ok(store.revokeWhere, 'the store implements revokeWhere');
        const clientId = uid('client');
        const a = await makeGrant({ clientId, sub: 'ann', generations: 2 });
        const b = await makeGrant({ clientId, sub: 'ben' });
        const other = await makeGrant({ sub: 'ann' });
        await store.saveTokens([...a.tokens, ...b.tokens, ...other.tokens]);
        const at = now();
        assert.equal(await store.revokeWhere({ clientId }, at), 6);
        await assertAllRevoked(store, [...a.tokens, ...b.tokens], at);
        await assertNoneRevoked(store, other.tokens);
        assert.equal(await store.revokeWhere({ clientId }, at), 0, 'idempotent');
      });
      it('by subject: every token of the resource owner, across clients', async () => {
        const sub = uid('sub');
        const a = await makeGrant({ sub });
        const b = await makeGrant({ sub });
        const other = await makeGrant({ clientId: a.tokens[0]!.clientId });
        await store.saveTokens([...a.tokens, ...b.tokens, ...other.tokens]);
        assert.equal(await store.revokeWhere!({ sub }, now()), 4);
        await assertAllRevoked(store, [...a.tokens, ...b.tokens]);
        await assertNoneRevoked(store, other.tokens);
      });
      it('by grant: the same as revoking the grant, later tokens included', async () => {
        const grant = await makeGrant({ generations: 3 });
        await store.saveTokens(grant.tokens);
        assert.equal(await store.revokeWhere!({ grantId: grant.grantId }, now()), 6);
        await assertAllRevoked(store, grant.tokens);
        const late = (await makeGrant()).tokens.map((t) => ({ ...t, grantId: grant.grantId }));
        await store.saveTokens(late);
        await assertAllRevoked(store, late);
      });
      it('by client and subject: only tokens matching both', async () => {
        const clientId = uid('client');
        const sub = uid('sub');
        const both = await makeGrant({ clientId, sub });
        const clientOnly = await makeGrant({ clientId });
        const subOnly = await makeGrant({ sub });
        await store.saveTokens([...both.tokens, ...clientOnly.tokens, ...subOnly.tokens]);
        assert.equal(await store.revokeWhere!({ clientId, sub }, now()), 2);
        await assertAllRevoked(store, both.tokens);
        await assertNoneRevoked(store, [...clientOnly.tokens, ...subOnly.tokens]);
      });
      it('an empty filter is refused and revokes nothing', async () => {
        const grant = await makeGrant();
        await store.saveTokens(grant.tokens);
        await assert.rejects(async () => store.revokeWhere!({}, now()), TypeError);
        await assertNoneRevoked(store, grant.tokens);
      });
      it('a filter on an empty subject or client matches only that empty value, never any', async () => {
        const grant = await makeGrant();
        const [access, refresh] = grant.tokens as [StoredToken, StoredToken];
        const empty = { ...access, sub: '' };
        const { sub: _sub, ...absent } = refresh;
        await store.saveTokens([empty, absent]);
        const filter = { grantId: grant.grantId };
        assert.equal(await store.revokeWhere!({ ...filter, clientId: '' }, now()), 0);
        await assertNoneRevoked(store, [empty, absent]);
        assert.equal(await store.revokeWhere!({ ...filter, sub: '' }, now()), 1);
        await assertAllRevoked(store, [empty]);
        await assertNoneRevoked(store, [absent]);
      });
      it('a filter matching nothing revokes nothing', async () => {
        assert.equal(await store.revokeWhere!({ clientId: uid('nobody') }, now()), 0);
      });
    });

    describe('issue #3: 200 concurrent revocations and reads, no lost revocation', () => {
      it('every revocation lands exactly once while reads run alongside', async () => {
        const grants = await Promise.all(
          Array.from({ length: 100 }, () => makeGrant({ generations: 2 })),
        );
        await store.saveTokens(grants.flatMap((g) => g.tokens));
        const peer = await sut.peer?.();
        const stores = peer ? [store, peer.tokens] : [store];
        try {
          const at = now();
          const calls: Promise<unknown>[] = [];
          const counts: Promise<number>[] = [];
          grants.forEach((grant, i) => {
            const a = stores[i % stores.length]!;
            const b = stores[(i + 1) % stores.length]!;
            // Two revocations per grant race each other: a whole-grant cascade and a single
            // token, from different "servers" when the store has a peer.
            counts.push(Promise.resolve(a.revokeGrant(grant.grantId, at)));
            counts.push(Promise.resolve(b.revokeToken(grant.tokens[0]!.id, at)));
            calls.push(Promise.resolve(b.findToken(grant.tokens[1]!.id)));
            calls.push(Promise.resolve(a.findToken(grant.tokens[2]!.id)));
          });
          const settled = await Promise.all(counts);
          await Promise.all(calls);
          const total = settled.reduce((sum, n) => sum + n, 0);
          assert.equal(total, 400, 'each token counted exactly once');
          await assertAllRevoked(
            store,
            grants.flatMap((g) => g.tokens),
            at,
          );
        } finally {
          await peer?.close();
        }
      });
      it('a revocation racing a rotation into the same grant never leaves a live token', async () => {
        const peer = await sut.peer?.();
        const other = peer?.tokens ?? store;
        try {
          const rounds = await Promise.all(
            Array.from({ length: 50 }, async () => {
              const grant = await makeGrant();
              await store.saveTokens(grant.tokens);
              const next = (await makeGrant()).tokens.map((t) => ({
                ...t,
                clientId: grant.tokens[0]!.clientId,
                grantId: grant.grantId,
              }));
              await Promise.all([
                Promise.resolve(store.revokeGrant(grant.grantId, now())),
                Promise.resolve(other.saveTokens(next)),
              ]);
              return [...grant.tokens, ...next];
            }),
          );
          await assertAllRevoked(store, rounds.flat());
        } finally {
          await peer?.close();
        }
      });
      it('a revocation through one server is seen by the next read on another', async () => {
        const peer = await sut.peer?.();
        if (!peer) return; // a single-process store has no other server to ask
        try {
          for (let i = 0; i < 20; i++) {
            const grant = await makeGrant();
            await store.saveTokens(grant.tokens);
            await store.revokeGrant(grant.grantId, now());
            const seen = await peer.tokens.findToken(grant.tokens[0]!.id);
            assert.notEqual(seen?.revokedAt, undefined);
          }
        } finally {
          await peer.close();
        }
      });
    });

    describe('a shared replay cache for client assertions (RFC 7523 §3: a jti is used once)', () => {
      const replayCache = (tokens: TokenStore): ReplayCache => {
        assert.ok('rememberAssertion' in tokens, 'the store is no ReplayCache');
        return tokens as TokenStore & ReplayCache;
      };
      it('a jti is accepted once per client, again only once its record expired, and purge keeps live records', async () => {
        const cache = replayCache(store);
        const [client, jti] = [uid('client'), uid('jti')];
        assert.equal(await cache.rememberAssertion(client, jti, now() + 600), true);
        assert.equal(await cache.rememberAssertion(client, jti, now() + 600), false);
        assert.equal(await cache.rememberAssertion(uid('other'), jti, now() + 600), true);
        const short = uid('jti');
        assert.equal(await cache.rememberAssertion(client, short, now() + 1), true);
        await new Promise((resolve) => setTimeout(resolve, 2100));
        await store.purge?.({ expiredBefore: now() - 3600 });
        assert.equal(await cache.rememberAssertion(client, jti, now() + 600), false);
        assert.equal(await cache.rememberAssertion(client, short, now() + 600), true);
        assert.equal(await cache.rememberAssertion(client, short, now() + 600), false);
      });
      it('50 concurrent records of one jti, from two servers when the store has a peer: exactly one is accepted', async () => {
        const peer = await sut.peer?.();
        try {
          const caches = [replayCache(store), replayCache(peer?.tokens ?? store)];
          const [client, jti] = [uid('client'), uid('jti')];
          const accepted = await Promise.all(
            Array.from({ length: 50 }, (_, i) =>
              caches[i % 2]!.rememberAssertion(client, jti, now() + 60),
            ),
          );
          assert.equal(accepted.filter(Boolean).length, 1);
        } finally {
          await peer?.close();
        }
      });
    });

    describe('issue #3 "What every store does": times in whole seconds, rounded down', () => {
      it('a fractional expiry, issue or revocation time is kept rounded down (audit finding)', async () => {
        const id = await sha256(`fraction-${Math.random()}`);
        const t = now();
        await store.saveTokens([
          {
            id,
            type: 'access_token',
            clientId: 'c',
            grantId: `g-${id}`,
            issuedAt: t - 0.5,
            expiresAt: t + 100.9,
          },
        ]);
        const saved = await store.findToken(id);
        assert.equal(saved?.issuedAt, t - 1);
        assert.equal(saved?.expiresAt, t + 100);
        assert.equal(await store.revokeToken(id, t + 0.7), 1);
        assert.equal((await store.findToken(id))?.revokedAt, t);
      });
    });

    describe('issue #3 "Migrations": versioned and idempotent', () => {
      it('migrating again changes nothing and keeps the data', async () => {
        const grant = await makeGrant();
        await store.saveTokens(grant.tokens);
        await store.migrate?.();
        const again = await store.migrate?.();
        assert.ok(await store.findToken(grant.tokens[0]!.id));
        // A store that reports versions reports no change the second time.
        if (again) assert.equal(again.from, again.to);
      });
    });

    describe('issue #3 "Seeding a persistent store": clients (RFC 7591 §2)', () => {
      const client = (clientId: string, secretDigest: string | undefined): Client => ({
        clientId,
        clientSecretDigest: secretDigest,
        tokenEndpointAuthMethod: secretDigest ? 'client_secret_basic' : 'none',
      });
      it('saveClient inserts, then leaves an identical client unchanged', async () => {
        assert.ok(sut.clients, 'every revokit store keeps clients');
        const id = uid('client');
        const c = client(id, await sha256('s3cret'));
        assert.equal(await sut.clients.saveClient(c), 'inserted');
        assert.equal(await sut.clients.saveClient({ ...c }), 'unchanged');
        const found = await sut.clients.getClient(id);
        assert.ok(found && sameClient(found, c));
      });
      it('an empty per-endpoint method reads as absent, as everywhere, so saving it again is unchanged (RFC 7591 §2)', async () => {
        assert.ok(sut.clients, 'every revokit store keeps clients');
        const c: Client = {
          ...client(uid('client'), await sha256('s3cret')),
          revocationEndpointAuthMethod: '',
          introspectionEndpointAuthMethod: '',
        };
        assert.equal(await sut.clients.saveClient(c), 'inserted');
        assert.equal(await sut.clients.saveClient({ ...c }), 'unchanged');
        assert.equal(
          await sut.clients.saveClient({ ...c, revocationEndpointAuthMethod: undefined }),
          'unchanged',
        );
      });
      it('a changed secret is reported as updated, and the new digest wins', async () => {
        assert.ok(sut.clients, 'every revokit store keeps clients');
        const id = uid('client');
        await sut.clients.saveClient(client(id, await sha256('old')));
        const next = client(id, await sha256('new'));
        assert.equal(await sut.clients.saveClient(next), 'updated');
        assert.equal((await sut.clients.getClient(id))?.clientSecretDigest, await sha256('new'));
      });
      it('issue #5: lookups of one turn, repeated and mixed, each get their own client', async () => {
        assert.ok(sut.clients, 'every revokit store keeps clients');
        const clients = sut.clients;
        const a = client(uid('client'), await sha256('a'));
        const b = client(uid('client'), undefined);
        await clients.saveClient(a);
        await clients.saveClient(b);
        const ids = [a.clientId, b.clientId, a.clientId, uid('nobody'), a.clientId];
        const found = await Promise.all(ids.map((id) => clients.getClient(id)));
        assert.deepEqual(
          found.map((c) => c?.clientId),
          [a.clientId, b.clientId, a.clientId, undefined, a.clientId],
        );
        assert.equal(found[0]?.clientSecretDigest, await sha256('a'));
        assert.equal(found[1]?.clientSecretDigest, undefined);
      });
      it('every field round-trips, and an unknown client is undefined', async () => {
        assert.ok(sut.clients, 'every revokit store keeps clients');
        const full: Client = {
          clientId: uid('client'),
          clientSecretDigest: await sha256('x'),
          clientSecretExpiresAt: now() + 86400,
          tokenEndpointAuthMethod: 'client_secret_post',
          revocationEndpointAuthMethod: 'client_secret_basic',
          introspectionEndpointAuthMethod: 'client_secret_post',
          resourceServer: true,
        };
        await sut.clients.saveClient(full);
        assert.deepEqual(defined(await sut.clients.getClient(full.clientId)), full);
        const pub = client(uid('client'), undefined);
        await sut.clients.saveClient(pub);
        const found = await sut.clients.getClient(pub.clientId);
        assert.ok(found && sameClient(found, pub));
        assert.equal(found.clientSecretDigest, undefined);
        assert.equal(await sut.clients.getClient(uid('nobody')), undefined);
      });

      // Public keys of RFC 7591 §2 `jwks`, as RFC 7517 §4 JWKs.
      const jwk = (x: string, kid: string): Record<string, unknown> => ({
        kty: 'EC',
        crv: 'P-256',
        x,
        y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
        kid,
        use: 'sig',
        alg: 'ES256',
      });
      const jwtClient = (clientId: string, keys: Record<string, unknown>[]): Client => ({
        clientId,
        tokenEndpointAuthMethod: 'private_key_jwt',
        jwks: { keys },
      });
      it('a private_key_jwt client keeps its jwks (RFC 7523 §2.2, RFC 7591 §2)', async () => {
        assert.ok(sut.clients, 'every revokit store keeps clients');
        const c = jwtClient(uid('client'), [
          jwk('gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0', 'k1'),
          jwk('f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', 'k2'),
        ]);
        assert.equal(await sut.clients.saveClient(c), 'inserted');
        const found = await sut.clients.getClient(c.clientId);
        assert.deepEqual(defined(found), c);
        assert.ok(found && sameClient(found, c));
      });
      it('the same jwks again is unchanged; another key, or none, is updated (RFC 7591 §2)', async () => {
        assert.ok(sut.clients, 'every revokit store keeps clients');
        const id = uid('client');
        const first = jwtClient(id, [jwk('gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0', 'k1')]);
        assert.equal(await sut.clients.saveClient(first), 'inserted');
        assert.equal(await sut.clients.saveClient(structuredClone(first)), 'unchanged');
        const rotated = jwtClient(id, [jwk('f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', 'k2')]);
        assert.equal(await sut.clients.saveClient(rotated), 'updated');
        assert.deepEqual((await sut.clients.getClient(id))?.jwks, rotated.jwks);
        assert.equal(await sut.clients.saveClient(structuredClone(rotated)), 'unchanged');
        const keyless: Client = { clientId: id, tokenEndpointAuthMethod: 'none' };
        assert.equal(await sut.clients.saveClient(keyless), 'updated');
        assert.equal((await sut.clients.getClient(id))?.jwks, undefined, 'the old keys stayed');
      });
    });
  });
}

import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Client } from '../../client-auth/client.js';
import type { SaveClientResult, WritableClientStore } from '../../client-auth/client-store.js';
import type { ReplayCache } from '../../client-auth/jti-cache.js';
import type { TokenType } from '../../tokens/token.js';
import { CLIENT_COLUMNS, clientFromRecord, clientToRecord } from '../client-record.js';
import { SchemaVersionError } from '../schema-version-error.js';
import { checkTokens, wholeSeconds } from '../token-record.js';
import {
  assertFilter,
  type ConditionalRevocation,
  DEFAULT_PURGE_BATCH,
  type MigrationResult,
  type PurgeOptions,
  type RevocationConditions,
  type RevokeFilter,
  type StoredToken,
  type TokenStore,
} from '../token-store.js';
import { readEachOnce, TurnBatch } from '../turn-batch.js';
import {
  FIND_TOKENS,
  MIGRATE,
  PURGE_TOKENS,
  REVOKE_GRANT,
  REVOKE_TOKENS,
  REVOKE_TOKENS_IF,
  REVOKE_WHERE,
  SAVE_CLIENT,
  SAVE_TOKENS,
  SAVE_TOKENS_ONCE,
  SWEEP_SET,
} from './redis-scripts.js';

/** Options of {@link RedisTokenStore}. */
export interface RedisTokenStoreOptions {
  /** Prefix of every key (default `revokit:`), so one Redis can hold several stores. */
  readonly prefix?: string;
  /**
   * How long a token is kept after it ends, in seconds (default 7 days): after its expiry,
   * or, for a token that never expires, after its revocation. Until then a replayed token
   * is still recognised as revoked (RFC 9700 §4.14); after it, it reads as unknown, which
   * both endpoints answer the same way.
   */
  readonly retention?: number;
  /** Tokens per script call of {@link RedisTokenStore.saveTokens} (default 500). */
  readonly saveChunk?: number;
}

/**
 * The schema version this store writes. Redis has no tables to alter, so a version says
 * what the hashes may hold; an older revokit, which would drop fields it does not know
 * when it rewrites a client, refuses the data instead ({@link SchemaVersionError}).
 *
 * - 1: tokens, grant markers, index sets, clients.
 * - 2: a client hash may hold `jwks`, the JSON text of its JWK Set, for `private_key_jwt`.
 *   No key is rewritten: a client of version 1 has no `jwks` and reads as keyless.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 */
export const REDIS_SCHEMA_VERSION = 2;

const DEFAULT_RETENTION = 7 * 24 * 3600;

/** A Lua script, sent by digest once the server knows it. */
class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: readonly (string | number)[]) {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // The server forgot the script (restart, SCRIPT FLUSH): send it whole once.
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

const scripts = {
  findTokens: new Script(FIND_TOKENS),
  revokeTokens: new Script(REVOKE_TOKENS),
  revokeTokensIf: new Script(REVOKE_TOKENS_IF),
  revokeGrant: new Script(REVOKE_GRANT),
  revokeWhere: new Script(REVOKE_WHERE),
  purgeTokens: new Script(PURGE_TOKENS),
  sweepSet: new Script(SWEEP_SET),
  saveClient: new Script(SAVE_CLIENT),
  migrate: new Script(MIGRATE),
};

const SAVE_RESULTS: readonly SaveClientResult[] = ['unchanged', 'inserted', 'updated'];

/** An optional string as the scripts take it: '' for absent, so '=' marks even '' present. */
const present = (value: string | undefined): string => (value == null ? '' : `=${value}`);

/** A token from its hash fields in the scripts' `token_fields` order; `undefined` for no hash. */
function tokenFromFields(id: string, fields: readonly (string | null)[]): StoredToken | undefined {
  const [ty, c, g, i, e, r, s, u] = fields;
  if (ty == null) return undefined;
  return {
    id,
    type: ty as TokenType,
    clientId: c ?? '',
    grantId: g ?? '',
    issuedAt: Number(i),
    expiresAt: e == null ? undefined : Number(e),
    revokedAt: r == null ? undefined : Number(r),
    scope: s ?? undefined,
    sub: u ?? undefined,
  };
}

/**
 * A {@link TokenStore} and {@link WritableClientStore} on Redis through `ioredis`, for
 * several servers sharing one Redis. `findToken` is one `HMGET`, a turn's lookups batched
 * in one script; every write is one Lua script, atomic on the server. Keys expire `retention` seconds after their token ends, so
 * the data set does not grow without bound.
 *
 * Create the client with `enableOfflineQueue: false` and a small `maxRetriesPerRequest`
 * so calls fail fast (answered 503) while Redis is down instead of queueing; ioredis
 * reconnects by itself. {@link migrate} waits for the first connection. Redis Cluster is
 * not supported: a cascade touches keys of many slots in one script.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
 * redis.on('error', (error) => log(error)); // ioredis reconnects; without a listener it throws
 * const store = new RedisTokenStore(redis);
 * await store.migrate();
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export class RedisTokenStore implements ReplayCache, TokenStore, WritableClientStore {
  readonly redis: Redis;
  readonly prefix: string;
  readonly retention: number;
  readonly #saveChunk: number;

  constructor(redis: Redis, options: RedisTokenStoreOptions = {}) {
    this.redis = redis;
    this.prefix = options.prefix ?? 'revokit:';
    this.retention = Math.max(0, Math.floor(options.retention ?? DEFAULT_RETENTION));
    this.#saveChunk = Math.max(1, Math.floor(options.saveChunk ?? 500));
  }

  /**
   * Brings the recorded schema version up to {@link REDIS_SCHEMA_VERSION} in one script,
   * refusing data written by a newer revokit. Idempotent.
   */
  async migrate(): Promise<MigrationResult> {
    await this.#ready();
    const found = Number(
      await scripts.migrate.run(
        this.redis,
        [`${this.prefix}schema`],
        [String(REDIS_SCHEMA_VERSION)],
      ),
    );
    if (found > REDIS_SCHEMA_VERSION) throw new SchemaVersionError(found, REDIS_SCHEMA_VERSION);
    return { from: found, to: REDIS_SCHEMA_VERSION };
  }

  /**
   * Waits for the connection, as start-up should: with the offline queue off, a command
   * sent while the client is still connecting fails at once. A `lazyConnect` client is
   * connected; one already connecting is given its `connectTimeout` (10 s by default).
   */
  async #ready(): Promise<void> {
    const { redis } = this;
    if (redis.status === 'ready') return;
    if (redis.status === 'wait') {
      await redis.connect();
      return;
    }
    if (!['connecting', 'connect', 'reconnecting'].includes(redis.status)) return;
    const ms = redis.options.connectTimeout ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('end', onEnd);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const onEnd = () => settle(new Error('the Redis connection ended before it was ready'));
      const timer = setTimeout(() => settle(new Error(`Redis was not ready within ${ms} ms`)), ms);
      redis.once('ready', onReady);
      redis.once('end', onEnd);
    });
  }

  /** The schema version recorded (0 before {@link migrate}). */
  async schemaVersion(): Promise<number> {
    return Number((await this.redis.get(`${this.prefix}schema`)) ?? 0);
  }

  /**
   * One hash read by digest. The lookups asked for in one turn of the event loop go as one
   * read-only script: ioredis spends more per command (a command object, a promise, a
   * reply parsed in JavaScript) than Redis does on an `HMGET`, and the Node process is
   * what runs out of CPU first (issue #5). A failed script rejects every lookup in it.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
   */
  findToken(id: string): Promise<StoredToken | undefined> {
    return this.#lookups.add(id);
  }

  readonly #lookups = new TurnBatch<string, StoredToken | undefined>(async (ids) => {
    const replies = (await scripts.findTokens.run(
      this.redis,
      ids.map((id) => `${this.prefix}t:${id}`),
      [],
    )) as (string | null)[][];
    return ids.map((id, i) => tokenFromFields(id, replies[i] ?? []));
  });

  /**
   * Revokes one token. The revocations of one turn of the event loop go as one script, as
   * lookups do; with `appendfsync always` Redis answers them after one write of its
   * append-only file.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  revokeToken(id: string, at: number): Promise<number> {
    return this.#revocations.add({ id, at: wholeSeconds(at) });
  }

  readonly #revocations = new TurnBatch<{ id: string; at: number | null }, number>(
    async (batch) => {
      const counts = (await scripts.revokeTokens.run(
        this.redis,
        batch.map(({ id }) => `${this.prefix}t:${id}`),
        [this.retention, ...batch.map(({ at }) => String(at))],
      )) as number[];
      return counts.map(Number);
    },
  );

  /**
   * Finds a token and revokes it if it meets the conditions, in one script: one round
   * trip where the revocation endpoint would need two. Those asked for in one turn of the
   * event loop go as one script, as {@link revokeToken}'s do.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  revokeTokenIf(id: string, conditions: RevocationConditions): Promise<ConditionalRevocation> {
    return this.#conditionalRevocations.add({ id, conditions });
  }

  readonly #conditionalRevocations = new TurnBatch<
    { id: string; conditions: RevocationConditions },
    ConditionalRevocation
  >(async (batch) => {
    const args: (string | number)[] = [this.retention];
    for (const { conditions } of batch) {
      args.push(
        conditions.clientId,
        conditions.types.join(' '),
        String(wholeSeconds(conditions.at)),
      );
    }
    const replies = (await scripts.revokeTokensIf.run(
      this.redis,
      batch.map(({ id }) => `${this.prefix}t:${id}`),
      args,
    )) as (string | number | null)[][];
    return batch.map(({ id }, i) => {
      const fields = replies[i] ?? [];
      return {
        token: tokenFromFields(id, fields.slice(0, 8) as (string | null)[]),
        revoked: Number(fields[8]) === 1,
      };
    });
  });

  /**
   * Records a client assertion's `jti` with `SET NX EXAT`: atomic on the server, so every
   * server sharing Redis accepts an assertion once between them; the key expires with it.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
   */
  async rememberAssertion(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    const key = `${this.prefix}a:${encodeURIComponent(clientId)}:${jti}`;
    return (await this.redis.set(key, '1', 'EXAT', Math.ceil(expiresAt), 'NX')) === 'OK';
  }

  /**
   * Marks the grant and every token in it revoked, in one script.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  async revokeGrant(grantId: string, at: number): Promise<number> {
    return Number(
      await scripts.revokeGrant.run(
        this.redis,
        [`${this.prefix}g:${grantId}`, `${this.prefix}gr:${grantId}`],
        [this.prefix, String(wholeSeconds(at)), this.retention],
      ),
    );
  }

  /**
   * Inserts every token; a token already stored is left as it is. Batches of
   * `saveChunk` tokens run as scripts inside one `MULTI`, so the whole call is applied at
   * once or, if the connection drops before `EXEC`, not at all.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  saveTokens(tokens: readonly StoredToken[]): Promise<number> {
    return this.#save(tokens, SAVE_TOKENS);
  }

  /**
   * {@link TokenStore.saveTokensOnce}: the ledger is the set `P seeded`, written by the
   * same scripts as the tokens, in one `MULTI`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  saveTokensOnce(tokens: readonly StoredToken[]): Promise<number> {
    return this.#save(tokens, SAVE_TOKENS_ONCE);
  }

  async #save(tokens: readonly StoredToken[], script: string): Promise<number> {
    checkTokens(tokens);
    if (tokens.length === 0) return 0;
    const multi = this.redis.multi();
    for (let i = 0; i < tokens.length; i += this.#saveChunk) {
      const args: (string | number)[] = [this.prefix, this.retention];
      for (const token of tokens.slice(i, i + this.#saveChunk)) {
        args.push(
          token.id,
          token.type,
          token.clientId,
          token.grantId,
          String(wholeSeconds(token.issuedAt)),
          token.expiresAt == null ? '' : String(wholeSeconds(token.expiresAt)),
          token.revokedAt == null ? '' : String(wholeSeconds(token.revokedAt)),
          present(token.scope),
          present(token.sub),
        );
      }
      multi.eval(script, 0, ...args);
    }
    const results = await multi.exec();
    if (!results) throw new Error('the Redis transaction was aborted');
    let inserted = 0;
    for (const [error, count] of results) {
      if (error) throw error;
      inserted += Number(count);
    }
    return inserted;
  }

  /**
   * Walks the smallest index the filter names (grant, then subject, then client) in one
   * script: all matching tokens or none.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  async revokeWhere(filter: RevokeFilter, at: number): Promise<number> {
    assertFilter(filter);
    if (filter.grantId !== undefined && filter.clientId === undefined && filter.sub === undefined) {
      return this.revokeGrant(filter.grantId, at);
    }
    const index =
      filter.grantId !== undefined
        ? `g:${filter.grantId}`
        : filter.sub !== undefined
          ? `u:${filter.sub}`
          : `c:${filter.clientId}`;
    return Number(
      await scripts.revokeWhere.run(
        this.redis,
        [this.prefix + index],
        [
          this.prefix,
          String(wholeSeconds(at)),
          this.retention,
          present(filter.clientId),
          present(filter.sub),
          present(filter.grantId),
        ],
      ),
    );
  }

  /**
   * Redis expires tokens by itself; purge deletes tokens that ended before a cutoff
   * earlier than their TTL, and drops index entries of tokens that expired away. It walks
   * the keys with `SCAN`, `batchSize` at a time, so Redis is never blocked for long.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  async purge({ expiredBefore, batchSize = DEFAULT_PURGE_BATCH }: PurgeOptions): Promise<number> {
    const cutoff = String(wholeSeconds(expiredBefore));
    const count = Math.max(1, Math.floor(batchSize));
    const pattern = (kind: string) => `${escapeGlob(this.prefix)}${kind}:*`;
    let deleted = 0;
    await this.#scan(pattern('t'), count, async (keys) => {
      deleted += Number(
        await scripts.purgeTokens.run(this.redis, [], [this.prefix, cutoff, ...keys]),
      );
    });
    for (const kind of ['g', 'c', 'u']) {
      await this.#scan(pattern(kind), count, async (keys) => {
        for (const key of keys) {
          let cursor = '0';
          do {
            cursor = String(
              await scripts.sweepSet.run(this.redis, [key], [this.prefix, cursor, count]),
            );
          } while (cursor !== '0');
        }
      });
    }
    return deleted;
  }

  /**
   * One `HGETALL`. Every request authenticates its client first, so under load most
   * requests of a turn name the same few clients: the lookups of one turn of the event
   * loop read each client once. A record that cannot be read fails its own lookups only.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
   */
  async getClient(clientId: string): Promise<Client | undefined> {
    const h = await this.#clientRecords.add(clientId);
    return h.client_id === undefined ? undefined : clientFromRecord(h);
  }

  readonly #clientRecords = new TurnBatch<string, Record<string, string>>((ids) =>
    readEachOnce(ids, (id) => this.redis.hgetall(`${this.prefix}cl:${id}`)),
  );

  /**
   * Inserts or replaces a client in one script, saying which it did.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
   */
  async saveClient(client: Client): Promise<SaveClientResult> {
    const record = clientToRecord(client);
    const args: string[] = [];
    for (const column of CLIENT_COLUMNS) {
      const value = record[column];
      if (value === null) continue;
      args.push(column, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
    }
    const result = await scripts.saveClient.run(
      this.redis,
      [`${this.prefix}cl:${client.clientId}`],
      args,
    );
    return SAVE_RESULTS[Number(result)] ?? 'updated';
  }

  /** Nothing to release: the Redis client stays the caller's to quit. */
  close(): void {}

  async #scan(pattern: string, count: number, each: (keys: string[]) => Promise<void>) {
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) await each(keys);
    } while (cursor !== '0');
  }
}

function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&');
}

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ClientMetadata } from '../../src/client-auth/client.js';
import type { WritableClientStore } from '../../src/client-auth/client-store.js';
import { sha256 } from '../../src/crypto/digest.js';
import type { StoredToken, TokenStore } from '../../src/stores/token-store.js';

/** Secrets with the characters RFC 6749 §2.3.1 form-encoding exists for. */
export const SECRETS = {
  app: 'app:s3cr%t+/=ü',
  poster: 'poster-secret',
  other: 'other-secret',
  rs: 'rs-secret',
  expired: 'expired-secret',
  override: 'override-secret',
} as const;

/** The clients every endpoint test runs with. */
export const CLIENTS: ClientMetadata[] = [
  {
    client_id: 'app',
    client_secret: SECRETS.app,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'poster',
    client_secret: SECRETS.poster,
    token_endpoint_auth_method: 'client_secret_post',
  },
  { client_id: 'spa', token_endpoint_auth_method: 'none' },
  {
    client_id: 'other',
    client_secret: SECRETS.other,
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'rs',
    client_secret: SECRETS.rs,
    token_endpoint_auth_method: 'client_secret_basic',
    resource_server: true,
  },
  {
    client_id: 'expired',
    client_secret: SECRETS.expired,
    token_endpoint_auth_method: 'client_secret_basic',
    client_secret_expires_at: 1_000_000_000,
  },
  {
    client_id: 'override',
    client_secret: SECRETS.override,
    token_endpoint_auth_method: 'client_secret_basic',
    revocation_endpoint_auth_method: 'client_secret_post',
  },
];

/** Token values of one grant, as a client would hold them. */
export interface Grant {
  grantId: string;
  clientId: string;
  access: string;
  refresh: string;
  /** Access tokens of earlier and later generations of the same grant. */
  generations: { access: string; refresh: string }[];
}

/** Options of {@link issueGrant}. */
export interface IssueOptions {
  scope?: string;
  sub?: string;
  /** Seconds from now until the access token expires; negative: already expired. */
  expiresIn?: number;
  /** Rotated generations to add to the grant besides the current one. */
  rotations?: number;
  /** What the current access token's value starts with (random after it). */
  accessPrefix?: string;
}

function value(prefix: string): string {
  return `${prefix}-${randomBytes(16).toString('base64url')}`;
}

/** Stores a fresh grant (digests only) and hands back its token values. */
export async function issueGrant(
  store: TokenStore,
  clientId: string,
  options: IssueOptions = {},
): Promise<Grant> {
  const now = Math.floor(Date.now() / 1000);
  const grantId = value('grant');
  const generations: { access: string; refresh: string }[] = [];
  const rotations = options.rotations ?? 0;
  for (let i = 0; i <= rotations; i++) {
    const access = i === rotations && options.accessPrefix ? options.accessPrefix : 'at';
    generations.push({ access: value(access), refresh: value('rt') });
  }
  const tokens: StoredToken[] = [];
  for (const generation of generations) {
    const common = {
      clientId,
      grantId,
      issuedAt: now - 10,
      scope: options.scope ?? 'read write',
      sub: options.sub ?? 'alice',
    };
    tokens.push({
      ...common,
      id: await sha256(generation.access),
      type: 'access_token',
      expiresAt: now + (options.expiresIn ?? 3600),
    });
    tokens.push({ ...common, id: await sha256(generation.refresh), type: 'refresh_token' });
  }
  await store.saveTokens(tokens);
  const current = generations[generations.length - 1]!;
  return { grantId, clientId, access: current.access, refresh: current.refresh, generations };
}

/** Whether the token with this value is marked revoked in the store. */
export async function isRevoked(store: TokenStore, token: string): Promise<boolean> {
  const found = await store.findToken(await sha256(token));
  if (!found) throw new Error('test token is not in the store');
  return found.revokedAt != null;
}

/** What a {@link FlakyStore} does on each call. */
export type FlakyMode = 'ok' | 'fail' | 'hang';

/**
 * Wraps a store so a test can make it fail or hang, for RFC 7009 §2.2.1's 503. The wrapped
 * store is left untouched while failing, like a database that is down.
 */
export class FlakyStore implements TokenStore {
  mode: FlakyMode = 'ok';
  /** Set to fail only revocations, after lookups succeeded. */
  failOnlyWrites = false;

  constructor(readonly inner: TokenStore) {}

  async #gate(write: boolean): Promise<void> {
    if (this.mode === 'ok' || (this.failOnlyWrites && !write)) return;
    if (this.mode === 'fail') throw new Error('storage is down (test)');
    await new Promise(() => {});
  }

  async findToken(id: string) {
    await this.#gate(false);
    return this.inner.findToken(id);
  }

  async revokeToken(id: string, at: number) {
    await this.#gate(true);
    return this.inner.revokeToken(id, at);
  }

  async revokeGrant(grantId: string, at: number) {
    await this.#gate(true);
    return this.inner.revokeGrant(grantId, at);
  }

  saveTokens(tokens: readonly StoredToken[]) {
    return this.inner.saveTokens(tokens);
  }
}

/**
 * Issue #5: client lookups of one turn are batched. A damaged client record, asked for in
 * the same turn as a sound one, must fail its own lookup only.
 */
export async function assertDamagedClientFailsAlone(
  clients: WritableClientStore,
  damagedId: string,
  message: string,
): Promise<void> {
  await clients.saveClient({ clientId: 'sound', tokenEndpointAuthMethod: 'none' });
  // A store may answer synchronously, and so may throw: each call is made inside an async
  // function so a synchronous throw counts as this lookup's rejection, not the helper's.
  const lookup = async (id: string) => clients.getClient(id);
  const [damaged, sound] = await Promise.allSettled([lookup(damagedId), lookup('sound')]);
  assert.equal(damaged.status, 'rejected', message);
  assert.equal(sound.status === 'fulfilled' && sound.value?.clientId, 'sound', message);
}

import type { Client } from '../client-auth/client.js';
import { lookupTokenByValue, revokeTokenByValueIf } from '../stores/find-token-by-value.js';
import type { Awaitable, StoredToken, TokenStore } from '../stores/token-store.js';
import type { TokenType } from '../tokens/token.js';
import { isPromiseLike } from '../util/awaitable.js';
import {
  type OneStepRevocation,
  type RevocationContext,
  RevocationEndpoint,
  type RevocationEndpointOptions,
} from './revocation-endpoint.js';

/**
 * An instance of the class {@link createRevocationEndpoint} returns: its hooks are
 * implemented, so a subclass may override any of them, or none.
 */
export interface StoreRevocationEndpoint extends RevocationEndpoint<StoredToken> {
  queryToken(
    token: string,
    tokenTypeHint: TokenType | undefined,
    client: Client,
  ): Awaitable<StoredToken | undefined>;
  revokeToken(token: StoredToken, context: RevocationContext): Promise<void> | undefined;
}

/** The class {@link createRevocationEndpoint} returns; `new` takes optional policies. */
export interface StoreRevocationEndpointClass {
  new (options?: RevocationEndpointOptions): StoreRevocationEndpoint;
  readonly ENDPOINT_NAME: string;
}

/**
 * The shortcut of Authlib's `create_revocation_endpoint`: a {@link RevocationEndpoint}
 * class whose hooks use a {@link TokenStore}. Register the class, or an instance with
 * policies of its own.
 *
 * @example
 * ```ts
 * server.registerEndpoint(createRevocationEndpoint(store));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export function createRevocationEndpoint(
  store: TokenStore,
  defaults: RevocationEndpointOptions = {},
): StoreRevocationEndpointClass {
  const { revokeTokenIf } = store;
  const oneStep = revokeTokenIf && { revokeTokenIf: revokeTokenIf.bind(store) };
  return class StoreRevocationEndpoint extends RevocationEndpoint<StoredToken> {
    /** The types revoked in one store call; `undefined` when the steps must run one by one. */
    readonly #oneStepTypes: readonly TokenType[] | undefined;

    constructor(options: RevocationEndpointOptions = defaults) {
      super(options);
      const own = StoreRevocationEndpoint.prototype;
      // A subclass that changes a hook gets the steps one by one, so that its code decides.
      const defaultSteps =
        this.hasDefaultChecks() &&
        this.queryToken === own.queryToken &&
        this.revokeToken === own.revokeToken;
      const types = this.options.tokenTypes.filter(
        (type) => this.cascadeOf({ type } as StoredToken) === 'token',
      );
      this.#oneStepTypes = oneStep && defaultSteps && types.length > 0 ? types : undefined;
    }

    protected override revokeIfAllowed(
      token: string,
      _tokenTypeHint: TokenType | undefined,
      client: Client,
    ): Awaitable<OneStepRevocation<StoredToken>> | undefined {
      const types = this.#oneStepTypes;
      if (!types || !oneStep) return undefined;
      const conditions = { clientId: client.clientId, types, at: Math.floor(Date.now() / 1000) };
      return this.server.callStore(this.name, () =>
        revokeTokenByValueIf(oneStep, token, conditions),
      );
    }

    queryToken(
      token: string,
      _tokenTypeHint: TokenType | undefined,
      _client: Client,
    ): Awaitable<StoredToken | undefined> {
      return lookupTokenByValue(store, token);
    }

    revokeToken(token: StoredToken, context: RevocationContext): Promise<void> | undefined {
      const at = Math.floor(Date.now() / 1000);
      // The count is not needed here: uncounted, a marking store reads none of the grant.
      const done =
        context.cascade === 'grant'
          ? store.revokeGrant(token.grantId, at, { count: false })
          : store.revokeToken(token.id, at);
      // A synchronous store answers synchronously: no promise, so no store timeout armed.
      return isPromiseLike(done) ? done.then(() => undefined) : undefined;
    }
  };
}

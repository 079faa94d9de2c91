import type { Client } from '../client-auth/client.js';
import { lookupTokenByValue } from '../stores/find-token-by-value.js';
import type { Awaitable, StoredToken, TokenStore } from '../stores/token-store.js';
import type { TokenType } from '../tokens/token.js';
import { isPromiseLike } from '../util/awaitable.js';
import {
  type RevocationContext,
  RevocationEndpoint,
  type RevocationEndpointOptions,
} from './revocation-endpoint.js';

/** The class {@link createRevocationEndpoint} returns; `new` takes optional policies. */
export interface StoreRevocationEndpointClass {
  new (options?: RevocationEndpointOptions): RevocationEndpoint<StoredToken>;
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
  return class StoreRevocationEndpoint extends RevocationEndpoint<StoredToken> {
    constructor(options: RevocationEndpointOptions = defaults) {
      super(options);
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
      const done =
        context.cascade === 'grant'
          ? store.revokeGrant(token.grantId, at)
          : store.revokeToken(token.id, at);
      // A synchronous store answers synchronously: no promise, so no store timeout armed.
      return isPromiseLike(done) ? done.then(() => undefined) : undefined;
    }
  };
}

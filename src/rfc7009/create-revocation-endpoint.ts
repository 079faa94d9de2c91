import type { Client } from '../client-auth/client.js';
import { findTokenByValue } from '../stores/find-token-by-value.js';
import type { StoredToken, TokenStore } from '../stores/token-store.js';
import type { TokenType } from '../tokens/token.js';
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
    ): Promise<StoredToken | undefined> {
      return findTokenByValue(store, token);
    }

    async revokeToken(token: StoredToken, context: RevocationContext): Promise<void> {
      const at = Math.floor(Date.now() / 1000);
      if (context.cascade === 'grant') await store.revokeGrant(token.grantId, at);
      else await store.revokeToken(token.id, at);
    }
  };
}

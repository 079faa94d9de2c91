import type { Client } from '../client-auth/client.js';
import { lookupTokenByValue } from '../stores/find-token-by-value.js';
import type { Awaitable, StoredToken, TokenStore } from '../stores/token-store.js';
import type { TokenType } from '../tokens/token.js';
import {
  IntrospectionEndpoint,
  type IntrospectionEndpointOptions,
} from './introspection-endpoint.js';

/** An {@link IntrospectionEndpoint} whose `queryToken` is implemented over a store. */
export interface StoreIntrospectionEndpoint extends IntrospectionEndpoint<StoredToken> {
  queryToken(
    token: string,
    tokenTypeHint: TokenType | undefined,
    client: Client,
  ): Awaitable<StoredToken | undefined>;
}

/** The class {@link createIntrospectionEndpoint} returns; `new` takes optional policies. */
export interface StoreIntrospectionEndpointClass {
  new (options?: IntrospectionEndpointOptions): StoreIntrospectionEndpoint;
  readonly ENDPOINT_NAME: string;
}

/**
 * An {@link IntrospectionEndpoint} class whose lookup uses a {@link TokenStore}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 */
export function createIntrospectionEndpoint(
  store: TokenStore,
  defaults: IntrospectionEndpointOptions = {},
): StoreIntrospectionEndpointClass {
  return class StoreIntrospectionEndpoint extends IntrospectionEndpoint<StoredToken> {
    constructor(options: IntrospectionEndpointOptions = defaults) {
      super(options);
    }

    queryToken(
      token: string,
      _tokenTypeHint: TokenType | undefined,
      _client: Client,
    ): Awaitable<StoredToken | undefined> {
      return lookupTokenByValue(store, token);
    }
  };
}

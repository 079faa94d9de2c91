import { sha256 } from '../crypto/digest.js';
import type {
  Awaitable,
  ConditionalRevocation,
  RevocationConditions,
  StoredToken,
  TokenStore,
} from './token-store.js';

/**
 * Finds a token by its value: digests it once and looks the digest up. One lookup covers
 * every token type, so a `token_type_hint` changes nothing here.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export async function findTokenByValue(
  store: TokenStore,
  value: string,
): Promise<StoredToken | undefined> {
  return lookupTokenByValue(store, value);
}

/**
 * {@link findTokenByValue} without the promise when it is not needed: where the digest and
 * the store both answer synchronously (Node, memory and SQLite stores), so does this, and
 * the endpoint runs the lookup without arming a store timeout it could never use.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function lookupTokenByValue(
  store: TokenStore,
  value: string,
): Awaitable<StoredToken | undefined> {
  return byDigest(value, (id) => store.findToken(id));
}

/**
 * {@link TokenStore.revokeTokenIf} by token value, digested once, synchronous where the
 * digest and the store are.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function revokeTokenByValueIf(
  store: Required<Pick<TokenStore, 'revokeTokenIf'>>,
  value: string,
  conditions: RevocationConditions,
): Awaitable<ConditionalRevocation> {
  return byDigest(value, (id) => store.revokeTokenIf(id, conditions));
}

/** Calls `use` with the digest of `value`, synchronously where the digest is. */
function byDigest<T>(value: string, use: (id: string) => Awaitable<T>): Awaitable<T> {
  const id = sha256(value);
  return typeof id === 'string' ? use(id) : id.then(use);
}

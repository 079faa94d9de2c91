import { sha256 } from '../crypto/digest.js';
import type { StoredToken, TokenStore } from './token-store.js';

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
  return store.findToken(await sha256(value));
}

import { sha256, timingSafeEqual } from '../crypto/digest.js';
import type { Awaitable } from '../util/awaitable.js';
import type { Client } from './client.js';

/** Compared against when the client is unknown or has no secret, so the work is the same. */
const DUMMY_DIGEST = '0'.repeat(64);

/**
 * Checks a presented secret against a client's stored digest in constant time, also
 * checking `client_secret_expires_at`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export function verifySecret(client: Client | undefined, secret: string): Awaitable<boolean> {
  const presented = sha256(secret);
  return typeof presented === 'string'
    ? matches(client, presented)
    : presented.then((digest) => matches(client, digest));
}

function matches(client: Client | undefined, presented: string): boolean {
  const stored = client?.clientSecretDigest;
  const equal = timingSafeEqual(presented, stored ?? DUMMY_DIGEST);
  if (!equal || stored === undefined) return false;
  const expiresAt = client?.clientSecretExpiresAt;
  return !expiresAt || expiresAt * 1000 > Date.now();
}

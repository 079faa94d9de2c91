import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import { InvalidClientError } from '../errors/oauth-error.js';
import type { ClientAuthMethod } from './client-auth-method.js';
import { MemoryReplayCache, type ReplayCache } from './jti-cache.js';

/** The longest `jti` accepted: a UUID is 36 characters. */
const MAX_JTI_LENGTH = 256;

/** A UTF-16 surrogate not part of a pair: in `u` mode a pair is one code point, never Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The only `client_assertion_type` RFC 7523 defines. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Options of {@link privateKeyJwt}. */
export interface PrivateKeyJwtOptions {
  /**
   * Where `jti`s are remembered; default: in this process. Behind several servers, pass
   * one they share, such as the token store (see {@link ReplayCache}).
   */
  readonly replayCache?: ReplayCache | undefined;
  /** Longest lifetime accepted for an assertion, in seconds (default 300). */
  readonly maxAge?: number;
  /** Clock skew tolerated, in seconds (default 30). */
  readonly clockTolerance?: number;
  /** Signature algorithms accepted (default: asymmetric ones only). */
  readonly algorithms?: readonly string[];
}

/** The algorithms accepted by default: asymmetric only, so a public key is never an HMAC key. */
export const ASSERTION_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/**
 * `private_key_jwt`: the client signs a short-lived JWT with a key whose public half it
 * registered (`jwks`). The assertion must name the client as `iss` and `sub`, this server
 * (its issuer or the endpoint's URL) as `aud`, carry `exp`, `iat` (at most `maxAge` ago)
 * and a `jti` seen only once.
 * Without a configured issuer no audience can be trusted, and every assertion fails.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export function privateKeyJwt(options: PrivateKeyJwtOptions = {}): ClientAuthMethod {
  const replay = options.replayCache ?? new MemoryReplayCache();
  const maxAge = options.maxAge ?? 300;
  const clockTolerance = options.clockTolerance ?? 30;
  const algorithms = [...(options.algorithms ?? ASSERTION_ALGORITHMS)];
  return ({ params, audience, callStore = (call) => call() }) => {
    const assertion = params.get('client_assertion');
    if (assertion === undefined) return undefined;
    if (params.get('client_assertion_type') !== JWT_BEARER_ASSERTION) {
      throw new InvalidClientError('client_assertion_type must be jwt-bearer');
    }
    let claimed: string | undefined;
    try {
      const claims = decodeJwt(assertion);
      claimed = typeof claims.sub === 'string' ? claims.sub : undefined;
    } catch (cause) {
      throw new InvalidClientError('malformed client_assertion', { cause });
    }
    const clientId = params.get('client_id') ?? claimed ?? '';
    return {
      clientId,
      async verify(client) {
        const jwks = client?.jwks;
        if (!client || !jwks || audience.length === 0) return false;
        let payload: { jti: string; exp: number; iat: number };
        try {
          ({ payload } = await jwtVerify<{ jti: string; exp: number; iat: number }>(
            assertion,
            createLocalJWKSet(jwks as JSONWebKeySet),
            {
              issuer: client.clientId,
              subject: client.clientId,
              audience: [...audience],
              algorithms,
              maxTokenAge: maxAge,
              clockTolerance,
              requiredClaims: ['exp', 'iat', 'jti'],
            },
          ));
        } catch {
          return false;
        }
        // RFC 7519 §4.1.7: a string. Any other value would not be one key in a cache (an
        // object is a new Map key each time), and a bounded length keeps the cache from
        // holding a client's 64 KiB jtis. A NUL is refused on every store alike: PostgreSQL's
        // text cannot hold one, so that store would fail the call. So is a lone surrogate
        // (JSON's `\ud800`): PostgreSQL and Redis keep UTF-8, where every one becomes U+FFFD,
        // so two distinct jtis would be one. An empty jti identifies nothing.
        if (
          typeof payload.jti !== 'string' ||
          payload.jti.length === 0 ||
          payload.jti.length > MAX_JTI_LENGTH ||
          payload.jti.includes('\u0000') ||
          LONE_SURROGATE.test(payload.jti)
        ) {
          return false;
        }
        // Remembered for as long as it could be accepted: until the earlier of exp and
        // iat + maxAge, plus the clock skew the check tolerates on both. A store that fails
        // answers 503 through `callStore`, never `invalid_client` (behaviour.md, row 12).
        const acceptableUntil = Math.min(payload.exp, payload.iat + maxAge) + clockTolerance;
        const { jti } = payload;
        return await callStore(() =>
          replay.rememberAssertion(client.clientId, jti, acceptableUntil),
        );
      },
    };
  };
}

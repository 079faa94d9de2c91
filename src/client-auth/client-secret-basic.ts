import { InvalidClientError } from '../errors/oauth-error.js';
import type { ClientAuthMethod } from './client-auth-method.js';
import { verifySecret } from './secret.js';

const CHALLENGE = 'Basic realm="revokit", charset="UTF-8"';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Undoes form-urlencoding; a value that is not validly encoded is taken as it is. */
function formDecode(value: string): string {
  // Most client ids and secrets hold nothing to decode: skip the work.
  if (value.indexOf('%') === -1 && value.indexOf('+') === -1) return value;
  const spaced = value.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** Bytes above 0x7f: only then does the decoded text differ from its UTF-8 reading. */
const NON_ASCII = /[\x80-\xff]/;

/** What `atob`'s forgiving decoder strips; RFC 4648 §4 base64 holds none of it. */
const WHITESPACE = /[\t\n\f\r ]/;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Whether the bits a padded last quantum drops are zero: the low 4 bits of the last
 * character before `==`, the low 2 before `=`. The same test as `btoa(atob(v)) === v`,
 * without encoding anything again.
 */
function paddingBitsClear(value: string): boolean {
  const two = value.charCodeAt(value.length - 2) === 61;
  const last = ALPHABET.indexOf(value.charAt(value.length - (two ? 3 : 2)));
  return (last & (two ? 0b1111 : 0b11)) === 0;
}

function decodeBase64(value: string): string {
  // With no whitespace and a length of whole quanta, atob takes only padded base64.
  if (value.length % 4 !== 0 || WHITESPACE.test(value)) throw new TypeError('not base64');
  const binary = atob(value);
  // atob ignores the bits a last quantum pads with; RFC 4648 §3.5 lets a decoder refuse
  // them set, and revokit does, so that one set of credentials has one header.
  if (value.charCodeAt(value.length - 1) === 61 /* = */ && !paddingBitsClear(value)) {
    throw new TypeError('not canonical base64');
  }
  if (!NON_ASCII.test(binary)) return binary;
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return utf8.decode(bytes);
}

/**
 * `client_secret_basic`: HTTP Basic with the client id and secret each form-urlencoded
 * before Base64, so that secrets holding `:`, `%` or `+` survive. An `Authorization`
 * header of another scheme, or `Basic` with no credentials, is refused as malformed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export const clientSecretBasic: ClientAuthMethod = ({ authorization }) => {
  if (!authorization) return undefined;
  if (authorization.slice(0, 6).toLowerCase() !== 'basic ') {
    // The client used the header, with nothing revokit can check: a failed authentication
    // (RFC 6749 §5.2, "unsupported authentication method"), not an absent one, so `none`
    // is never tried beside it.
    throw new InvalidClientError(
      /^basic\s*$/i.test(authorization)
        ? 'malformed Basic credentials'
        : 'the Authorization header must use the Basic scheme',
      { headers: { 'www-authenticate': CHALLENGE } },
    );
  }
  let decoded: string;
  try {
    decoded = decodeBase64(authorization.slice(6).trim());
  } catch (cause) {
    throw new InvalidClientError('malformed Basic credentials', {
      cause,
      headers: { 'www-authenticate': CHALLENGE },
    });
  }
  const colon = decoded.indexOf(':');
  if (colon < 1) {
    throw new InvalidClientError('malformed Basic credentials', {
      headers: { 'www-authenticate': CHALLENGE },
    });
  }
  const clientId = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  return {
    clientId,
    challenge: CHALLENGE,
    verify: (client) => verifySecret(client, secret),
  };
};

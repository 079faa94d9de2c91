/**
 * SHA-256 digests and constant-time comparison over Web Crypto, with Node's synchronous
 * `node:crypto` used when the runtime offers it through `process.getBuiltinModule`.
 * The core stays free of Node imports and runs unchanged on Bun, Deno and Workers.
 */

interface NodeCrypto {
  createHash(algorithm: 'sha256'): { update(data: string): { digest(encoding: 'hex'): string } };
  /** One-shot digest (Node ≥ 20.12): no Hash object per call, three times faster. */
  hash?(algorithm: 'sha256', data: string, outputEncoding: 'hex'): string;
}

const nodeCrypto: NodeCrypto | undefined = (() => {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
  } catch {
    return undefined;
  }
})();

const nodeHash = typeof nodeCrypto?.hash === 'function' ? nodeCrypto.hash : undefined;

const encoder = new TextEncoder();

function hex(buffer: ArrayBuffer): string {
  const bytes = new Uint8Array(buffer);
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/**
 * The SHA-256 digest of a UTF-8 string, as 64 lower-case hex characters. Token values and
 * client secrets are only ever stored and compared as this digest. Synchronous on Node,
 * a promise elsewhere; `await` it either way.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
export function sha256(value: string): string | Promise<string> {
  if (nodeHash) return nodeHash('sha256', value, 'hex');
  if (nodeCrypto) return nodeCrypto.createHash('sha256').update(value).digest('hex');
  return crypto.subtle.digest('SHA-256', encoder.encode(value)).then(hex);
}

/**
 * Compares two strings in time that depends only on their lengths. Meant for digests of
 * equal, public length: compare `sha256(secret)` values, never the secrets themselves.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-10.3
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const length = Math.max(a.length, b.length);
  let diff = a.length ^ b.length;
  for (let i = 0; i < length; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

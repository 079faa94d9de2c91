/**
 * The baseline: about the least a correct revocation handler can do on `node:http`.
 * It reads the body, parses it with `URLSearchParams`, checks one Basic credential in
 * constant time, looks the token's SHA-256 digest up in a `Map`, and answers 200 `{}`
 * with the headers every revokit answer carries. Every revokit figure is a ratio to it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AUTHORIZATION } from './tokens.js';

const HEADERS = {
  'content-type': 'application/json',
  'cache-control': 'no-store',
  pragma: 'no-cache',
};
const EXPECTED = Buffer.from(AUTHORIZATION);
// With the length known, Node writes head and body at once, as revokit's adapter does.
const OK_HEADERS = { ...HEADERS, 'content-length': '2' };
const UNAUTHORIZED = '{"error":"invalid_client"}';
const UNAUTHORIZED_HEADERS = { ...HEADERS, 'content-length': String(UNAUTHORIZED.length) };

/** The tokens the baseline knows, by digest; the value is whether the token is revoked. */
export type BaselineTokens = Map<string, boolean>;

/**
 * How many requests named a stored token. Using the lookup's result is what keeps it: V8
 * optimized a `Map.get` whose result went unused away, so until the thirteenth round the
 * baseline looked nothing up (an unused lookup took ~40 ns at 10^6 keys, a used one ~950;
 * docs/benchmarks.md).
 */
let found = 0;

/** Requests so far that named a stored token (see {@link found}). */
export function baselineFound(): number {
  return found;
}

export function baselineHandler(tokens: BaselineTokens): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const params = new URLSearchParams(body);
      const presented = Buffer.from(req.headers.authorization ?? '');
      const authorized =
        presented.length === EXPECTED.length && timingSafeEqual(presented, EXPECTED);
      if (!authorized) {
        res.writeHead(401, UNAUTHORIZED_HEADERS);
        res.end(UNAUTHORIZED);
        return;
      }
      const token = params.get('token');
      if (token && tokens.get(createHash('sha256').update(token).digest('hex')) !== undefined) {
        found++;
      }
      res.writeHead(200, OK_HEADERS);
      res.end('{}');
    });
  };
}

/**
 * Cross-origin policy for browser clients (public clients revoking on logout). Off unless
 * origins are listed; there is no wildcard, each origin is named.
 *
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export interface CorsOptions {
  /** Exact origins allowed, such as `https://app.example.com`. */
  readonly origins: readonly string[];
  /** Preflight cache lifetime, in seconds (default 600). */
  readonly maxAge?: number;
}

/**
 * The CORS headers to add to an answer for a request from `origin`.
 *
 * @see https://fetch.spec.whatwg.org/#http-cors-protocol
 */
export function corsHeaders(
  cors: CorsOptions | undefined,
  origin: string | null,
): Record<string, string> | undefined {
  if (!cors) return undefined;
  if (!origin || !cors.origins.includes(origin)) return { vary: 'Origin' };
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}

/**
 * The headers of an answer to a preflight `OPTIONS` request.
 *
 * @see https://fetch.spec.whatwg.org/#cors-preflight-fetch
 */
export function preflightHeaders(cors: CorsOptions, origin: string | null): Record<string, string> {
  const base = corsHeaders(cors, origin) ?? {};
  if (!base['access-control-allow-origin']) return base;
  return {
    ...base,
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': 'Authorization, Content-Type',
    'access-control-max-age': String(cors.maxAge ?? 600),
  };
}

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
 * Why `value` cannot be an allowed origin, or `undefined` if it can. A browser sends
 * `Origin` serialized (scheme, host, port, nothing after), so anything else would never
 * match: a trailing slash, a path, upper case, a default port.
 *
 * @see https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin
 */
export function originProblem(value: string): string | undefined {
  let origin: string;
  try {
    origin = new URL(value).origin;
  } catch {
    return `"${value}" is not an origin such as https://app.example`;
  }
  if (origin === 'null') return `"${value}" has no origin a browser would send`;
  if (origin !== value) return `"${value}" is not an origin; did you mean "${origin}"?`;
  return undefined;
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

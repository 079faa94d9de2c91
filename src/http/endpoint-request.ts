import { InvalidRequestError } from '../errors/oauth-error.js';

/**
 * The runtime-neutral view of an incoming request that endpoints read. A Fetch `Request`
 * becomes one with {@link fromFetchRequest}; the `node:http` adapter builds one straight
 * from `IncomingMessage`, so no `Request` object is made on the hot path.
 */
export interface EndpointRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The request target: a path with an optional query (`/oauth/revoke?x=1`), or an absolute URL. */
  readonly url: string;
  /** A header value by lower-case name, repeated headers joined with `, `; `null` when absent. */
  header(name: string): string | null;
  /**
   * The body as text, read at most up to `limit` bytes. Rejects with a 413
   * {@link PayloadTooLargeError} as soon as the limit is passed, without reading further.
   */
  readBody(limit: number): Promise<string>;
}

/**
 * 413 `invalid_request`: the body is larger than the endpoint accepts.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-5
 */
export class PayloadTooLargeError extends InvalidRequestError {
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`, { status: 413, headers: { connection: 'close' } });
  }
}

/**
 * Rejects early on a declared `Content-Length` over the limit.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-5
 */
export function checkDeclaredLength(contentLength: string | null | undefined, limit: number): void {
  if (contentLength && Number(contentLength) > limit) throw new PayloadTooLargeError(limit);
}

const utf8 = new TextDecoder();

/**
 * Reads a Web `ReadableStream` up to `limit` bytes, cancelling it once the limit is passed.
 *
 * @see https://streams.spec.whatwg.org/#rs-class
 */
export async function readStream(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<string> {
  if (!stream) return '';
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        reader.cancel().catch(() => {});
        throw new PayloadTooLargeError(limit);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof PayloadTooLargeError) throw error;
    throw new InvalidRequestError('the request body could not be read', { cause: error });
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return utf8.decode(chunks[0]);
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return utf8.decode(all);
}

/**
 * Wraps a Fetch `Request` as an {@link EndpointRequest}.
 *
 * @see https://fetch.spec.whatwg.org/#request-class
 */
export function fromFetchRequest(request: Request): EndpointRequest {
  return {
    method: request.method.toUpperCase(),
    url: request.url,
    header: (name) => request.headers.get(name),
    readBody: async (limit) => {
      checkDeclaredLength(request.headers.get('content-length'), limit);
      return readStream(request.body, limit);
    },
  };
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Where the path of a request target starts: 0 in origin form (`/path?query`); in absolute
 * form (`http://host/path`, as a proxy sends), after the authority, which the first `/`,
 * `?` or `#` ends, so that `http://h?/a` has an empty path and the query `/a`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.2
 */
function pathStart(url: string): number {
  if (url.charCodeAt(0) === 47 /* / */) return 0;
  const scheme = SCHEME.exec(url);
  if (!scheme) return 0;
  for (let i = scheme[0].length; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 63 /* ? */ || c === 35 /* # */) return i;
  }
  return url.length;
}

/** Where the path that starts at `start` ends: at its query or fragment, if any. */
function pathEnd(url: string, start: number): number {
  const q = url.indexOf('?', start);
  const h = url.indexOf('#', start);
  return q === -1 ? (h === -1 ? url.length : h) : h === -1 ? q : Math.min(q, h);
}

/**
 * The path of a request target, without query or fragment; `/` when empty.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.3
 */
export function pathOf(url: string): string {
  const start = pathStart(url);
  return url.slice(start, pathEnd(url, start)) || '/';
}

/**
 * The query of a request target, without `?`; empty when there is none.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-3.4
 */
export function queryOf(url: string): string {
  const end = pathEnd(url, pathStart(url));
  if (url.charCodeAt(end) !== 63 /* ? */) return '';
  const h = url.indexOf('#', end);
  return url.slice(end + 1, h === -1 ? url.length : h);
}

/**
 * Whether a request target in absolute form carries user information
 * (`http://user:pass@host/`), which a recipient should treat as an error.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-4.2.4
 */
export function hasUserinfo(url: string): boolean {
  // Before the path there is nothing in origin form, and scheme and authority otherwise.
  return url.slice(0, pathStart(url)).includes('@');
}

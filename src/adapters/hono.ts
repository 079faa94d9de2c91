import type { IncomingMessage } from 'node:http';
import type { Context, Handler, MiddlewareHandler } from 'hono';
import {
  checkDeclaredLength,
  type EndpointRequest,
  PayloadTooLargeError,
  readStream,
} from '../http/endpoint-request.js';
import { toFetchResponse } from '../http/endpoint-response.js';
import { isFormContentType } from '../http/form.js';
import type { AuthorizationServer } from '../server/authorization-server.js';
import { bodyAlreadyRead, nodeEndpointRequest } from './bridge.js';

const REFUSAL =
  'a middleware read it with c.req.formData() or straight from c.req.raw. Mount revokit before it, or read the body with c.req.text(), c.req.arrayBuffer() or c.req.parseBody(), which keep the raw bytes.';

const encoder = new TextEncoder();

/**
 * The body Hono has kept as bytes or text, if a middleware read it: `c.req.text()`,
 * `arrayBuffer()`, `json()` and `parseBody()` all keep one. A `formData` kept alone is not
 * the raw body (repeated parameters and encoding are lost), so it is not used.
 */
function cachedText(c: Context): Promise<string> | undefined {
  const cache = c.req.bodyCache;
  return cache.text || cache.arrayBuffer || cache.blob ? c.req.text() : undefined;
}

/**
 * The Node request under `@hono/node-server`, or under `revokit/node`'s `toNodeListener`:
 * reading it directly is faster than the Fetch body and stops cleanly at the limit.
 */
function incomingOf(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  return typeof incoming?.readableDidRead === 'boolean' && typeof incoming.headers === 'object'
    ? incoming
    : undefined;
}

function endpointRequest(c: Context): EndpointRequest {
  const cached = cachedText(c);
  const incoming = incomingOf(c);
  if (incoming && !cached)
    return nodeEndpointRequest(incoming, { url: c.req.url, refusal: REFUSAL });
  const raw = c.req.raw;
  return {
    method: raw.method.toUpperCase(),
    url: raw.url,
    header: (name) => raw.headers.get(name),
    async readBody(limit) {
      checkDeclaredLength(raw.headers.get('content-length'), limit);
      if (cached) {
        const text = await cached;
        if (encoder.encode(text).byteLength > limit) throw new PayloadTooLargeError(limit);
        return text;
      }
      if (!raw.bodyUsed && Object.keys(c.req.bodyCache).length === 0) {
        return readStream(raw.body, limit);
      }
      // Gone; the contract still answers a body whose content type it refuses anyway.
      if (!isFormContentType(raw.headers.get('content-type'))) return '';
      throw bodyAlreadyRead(REFUSAL);
    },
  };
}

async function answer(server: AuthorizationServer, name: string, c: Context): Promise<Response> {
  return toFetchResponse(await server.handle(name, endpointRequest(c)));
}

/**
 * One endpoint as a Hono handler, for a route of your choosing: the counterpart of
 * Authlib's `@app.route('/oauth/revoke', methods=['POST'])`. Mount it with `app.all` so
 * other methods get the contract's 405 with `Allow`. Runs wherever Hono runs.
 *
 * @example
 * ```ts
 * app.all('/oauth/revoke', endpoint(server, 'revocation'));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export function endpoint(server: AuthorizationServer, name: string): Handler {
  return (c) => answer(server, name, c);
}

/**
 * Middleware serving every registered endpoint at its path (`server.options.paths`,
 * matched against the full request path): revocation, introspection and RFC 8414
 * metadata. Other paths go on to `next`.
 *
 * @example
 * ```ts
 * app.use(routes(server));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export function routes(server: AuthorizationServer): MiddlewareHandler {
  return async (c, next) => {
    const name = server.endpointAt(c.req.path);
    if (name === undefined) {
      await next();
      return;
    }
    return answer(server, name, c);
  };
}

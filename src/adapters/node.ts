import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import {
  type EndpointRequest,
  PayloadTooLargeError,
  checkDeclaredLength,
} from '../http/endpoint-request.js';
import { InvalidRequestError } from '../errors/oauth-error.js';
import type { EndpointResponse } from '../http/endpoint-response.js';
import type { AuthorizationServer } from '../server/authorization-server.js';

type NodeRequest = IncomingMessage | Http2ServerRequest;
type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * Reads an `IncomingMessage` body up to `limit` bytes. Past the limit it stops listening
 * and rejects at once; the connection is closed after the 413, so the rest is never read.
 */
export function readNodeBody(req: NodeRequest, limit: number): Promise<string> {
  checkDeclaredLength(req.headers['content-length'], limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new PayloadTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(
        chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'),
      );
    };
    const onError = (cause: unknown) => {
      cleanup();
      reject(new InvalidRequestError('the request body could not be read', { cause }));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

/**
 * Views a `node:http` request as an {@link EndpointRequest}, without building a Fetch
 * `Request`: the body is read once, headers are read in place.
 */
export function fromNodeRequest(req: NodeRequest, body?: string): EndpointRequest {
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    url: req.url ?? '/',
    header(name) {
      const value = req.headers[name];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    },
    readBody: body === undefined ? (limit) => readNodeBody(req, limit) : async () => body,
  };
}

/** Writes an {@link EndpointResponse} to a `node:http` response. */
export function writeNodeResponse(res: NodeResponse, response: EndpointResponse): void {
  if (res.headersSent) return;
  (res as ServerResponse).writeHead(response.status, response.headers);
  if (response.status === 204) res.end();
  else res.end(response.body);
}

/** Options of {@link toNodeHandler}. */
export interface NodeHandlerOptions {
  /** Answers only this endpoint, whatever the path (mount it on a route of your own). */
  readonly endpoint?: string;
}

/**
 * A `node:http` (and `node:http2` compatibility) request listener for the server: every
 * registered endpoint at its path, or one endpoint with `{ endpoint: 'revocation' }`.
 *
 * @example
 * ```ts
 * http.createServer(toNodeHandler(server)).listen(8080);
 * ```
 * @see https://nodejs.org/api/http.html#httpcreateserveroptions-requestlistener
 */
export function toNodeHandler(
  server: AuthorizationServer,
  options: NodeHandlerOptions = {},
): (req: NodeRequest, res: NodeResponse) => void {
  const { endpoint } = options;
  return (req, res) => {
    const request = fromNodeRequest(req);
    const pending = endpoint ? server.handle(endpoint, request) : server.route(request);
    pending.then(
      (response) => writeNodeResponse(res, response),
      () => {
        if (!res.headersSent) {
          (res as ServerResponse).writeHead(500, {
            'content-type': 'application/json',
            'cache-control': 'no-store',
            pragma: 'no-cache',
          });
        }
        res.end('{"error":"server_error"}');
      },
    );
  };
}

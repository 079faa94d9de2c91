import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EndpointRequest } from '../http/endpoint-request.js';
import { NO_STORE_HEADERS } from '../http/endpoint-response.js';
import type { AuthorizationServer } from '../server/authorization-server.js';
import {
  answerable,
  bodyStillComing,
  type NodeRequest,
  nodeEndpointRequest,
  whenAnswerable,
} from './bridge.js';
import { type NodeResponse, writeOrDestroy, writeServerError } from './node-response.js';
import { readInTurn, writeInTurn } from './turn-writer.js';

export type { NodeRequest } from './bridge.js';
export { BodyAlreadyReadError, readNodeBody } from './bridge.js';
export { writeNodeResponse } from './node-response.js';
export {
  answerClientError,
  createNodeServer,
  type NodeRefusal,
  type NodeServerOptions,
} from './node-server.js';

/**
 * Views a `node:http` request as an {@link EndpointRequest}, without building a Fetch
 * `Request`: the body is read once, headers are read in place. Pass `body` when something
 * else already read it.
 *
 * @see https://nodejs.org/api/http.html#class-httpincomingmessage
 */
export function fromNodeRequest(req: NodeRequest, body?: string): EndpointRequest {
  return nodeEndpointRequest(req, {
    rawBody: body,
    refusal: 'a listener read the request stream before revokit did.',
  });
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
  const run = (req: NodeRequest, res: NodeResponse) => {
    const readIn = readInTurn();
    const request = fromNodeRequest(req);
    const pending = endpoint ? server.handle(endpoint, request) : server.route(request);
    pending.then(
      (response) => writeInTurn(readIn, () => writeOrDestroy(res, response)),
      () => writeInTurn(readIn, () => writeServerError(res)),
    );
  };
  return (req, res) => whenAnswerable(req, res as ServerResponse, run);
}

/**
 * What {@link toNodeListener} hands a Fetch handler besides the `Request`: the Node request
 * and response, under the names `@hono/node-server` uses, so `revokit/hono` reads the body
 * straight from Node either way.
 */
export interface NodeBindings {
  readonly incoming: IncomingMessage;
  readonly outgoing: ServerResponse;
}

/** A Fetch handler: `server.fetch`, Hono's `app.fetch`, or any `(Request) => Response`. */
export type FetchHandler = (request: Request, env: NodeBindings) => Response | Promise<Response>;

/**
 * Serves a Fetch handler on `node:http`: each request becomes a Fetch `Request`, the
 * `Response` is written back with every header and the body streamed. The request body is
 * handed over lazily, so a handler that reads the Node request itself (revokit's adapters
 * do, through {@link NodeBindings}) finds it untouched.
 *
 * @example
 * ```ts
 * http.createServer(toNodeListener(app.fetch)).listen(8080); // a Hono app
 * ```
 * @see https://fetch.spec.whatwg.org/#request-class
 */
export function toNodeListener(
  fetch: FetchHandler,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let request: Request;
    try {
      request = toFetchRequest(req);
    } catch {
      (res as ServerResponse).writeHead(400, NO_STORE_HEADERS);
      res.end('{"error":"invalid_request","error_description":"the request URL is malformed"}');
      return;
    }
    Promise.resolve(answerable(res))
      .then((ok) => (ok ? fetch(request, { incoming: req, outgoing: res }) : undefined))
      .then(
        (response) => response && writeFetchResponse(res, response),
        () => writeServerError(res),
      )
      .catch(() => res.destroy());
  };
}

function toFetchRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const target = req.url ?? '/';
  // A target in absolute form (as sent to a proxy) names its own authority (RFC 9112 §3.2.2).
  const url =
    target.charCodeAt(0) === 47
      ? `${scheme}://${req.headers.host ?? 'localhost'}${target}`
      : target;
  return new Request(url, {
    method,
    headers,
    body: hasBody ? lazyBody(req) : null,
    duplex: 'half',
  } as RequestInit);
}

/**
 * A Web stream over a Node request that touches the request only once pulled, and on
 * cancel stops reading without destroying the socket, so a 413 can still be written.
 */
function lazyBody(req: IncomingMessage): ReadableStream<Uint8Array> {
  let attached = false;
  const listeners = {
    data: (_chunk: Buffer) => {},
    end: () => {},
    error: (_error: unknown) => {},
  };
  const detach = () => {
    req.off('data', listeners.data);
    req.off('end', listeners.end);
    req.off('error', listeners.error);
    req.off('aborted', listeners.error);
  };
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (attached) {
          req.resume();
          return;
        }
        attached = true;
        listeners.data = (chunk) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) req.pause();
        };
        listeners.end = () => {
          detach();
          controller.close();
        };
        listeners.error = (error) => {
          detach();
          controller.error(error);
        };
        req.on('data', listeners.data);
        req.on('end', listeners.end);
        req.on('error', listeners.error);
        req.on('aborted', listeners.error);
      },
      cancel() {
        detach();
        req.pause();
      },
      // Zero: a stream with room in its queue pulls at once, which would read the request
      // before anyone asked.
    },
    { highWaterMark: 0 },
  );
}

async function writeFetchResponse(res: ServerResponse, response: Response): Promise<void> {
  if (res.headersSent) return;
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  if (bodyStillComing(res.req)) headers.connection = 'close';
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    if (res.destroyed) break;
    if (!res.write(chunk)) await drained(res);
  }
  res.end();
}

/** Waits for room to write, or for the client to be gone: a closed socket never drains. */
async function drained(res: ServerResponse): Promise<void> {
  const stop = new AbortController();
  try {
    await Promise.race([
      once(res, 'drain', { signal: stop.signal }),
      once(res, 'close', { signal: stop.signal }),
    ]);
  } finally {
    stop.abort();
  }
}

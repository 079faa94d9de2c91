import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { InvalidRequestError } from '../errors/oauth-error.js';
import type { EndpointResponse } from '../http/endpoint-response.js';
import type { AuthorizationServer } from '../server/authorization-server.js';
import { repeated } from './bridge.js';
import { type NodeHandlerOptions, toNodeHandler } from './node.js';
import { writeNodeResponse } from './node-response.js';

/** A request refused before any handler saw it: what an access log may record of it. */
export interface NodeRefusal {
  readonly status: number;
  /** Why, in words; the `error_description` sent. Holds nothing of the request. */
  readonly reason: string;
}

/** Options of {@link createNodeServer}. */
export interface NodeServerOptions extends NodeHandlerOptions {
  /**
   * Options for `http.createServer`. revokit's defaults: `keepAliveTimeout` 5 s,
   * `headersTimeout` 10 s, `requestTimeout` 30 s, timeouts checked every second
   * (`connectionsCheckingInterval`). `requireHostHeader` is always off: revokit answers a
   * missing `Host` itself, in JSON.
   */
  readonly http?: ServerOptions;
  /** Told of every request refused before a handler ran (malformed HTTP, timeouts). */
  readonly onRefused?: (refusal: NodeRefusal) => void;
}

/**
 * A `node:http` server for the authorization server on which every answer is revokit's
 * RFC 6749 §5.2 JSON, including those Node would write itself: malformed HTTP, headers too
 * large, a request too slow, a missing `Host`, an `Expect` it cannot meet. `100 Continue`
 * is not sent for a body declared over the limit, so the 413 comes before the upload. What
 * `revokit serve` runs.
 *
 * @example
 * ```ts
 * createNodeServer(server).listen(8080, '127.0.0.1');
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.1.1
 */
export function createNodeServer(
  server: AuthorizationServer,
  options: NodeServerOptions = {},
): Server {
  return serveOn(createServer(nodeServerOptions(options.http)), server, options);
}

/** `http.createServer` options with revokit's defaults (see {@link NodeServerOptions}). */
export function nodeServerOptions(options: ServerOptions = {}): ServerOptions {
  return {
    keepAliveTimeout: 5000,
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    connectionsCheckingInterval: 1000,
    ...options,
    requireHostHeader: false,
  };
}

/**
 * Installs {@link createNodeServer}'s listeners on a server built with
 * {@link nodeServerOptions}: for `revokit serve`, which listens before the authorization
 * server exists, since its issuer names the address.
 */
export function serveOn(
  http: Server,
  server: AuthorizationServer,
  options: NodeServerOptions = {},
): Server {
  const handler = toNodeHandler(server, options);
  const { onRefused } = options;
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const refused = refusalOf(req);
    if (refused) {
      refuseThrough(res, ...refused, onRefused);
      return;
    }
    handler(req, res);
  };
  http.on('request', serve);
  http.on('clientError', (error: Error & { code?: string }, socket: Duplex) =>
    refuseClientError(error, socket, onRefused),
  );
  http.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    // Without the 100, a client that waits for it sends nothing and reads the answer.
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!refusalOf(req) && !(declared > server.options.bodyLimit)) res.writeContinue();
    serve(req, res);
  });
  http.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) =>
    refuseThrough(res, 417, 'the Expect header cannot be met', onRefused),
  );
  // Without a listener Node closes a CONNECT with no answer at all.
  http.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    onRefused?.({ status: 405, reason: 'the method must be POST' });
    socket.end(rawRefusal(405, 'the method must be POST'));
  });
  return http;
}

/**
 * Why a request Node parsed is refused before any handler, if it is. Node's parser reads
 * an `HTTP/2.0` or `HTTP/0.9` request line as if it were HTTP/1.x (RFC 9110 §15.6.6: 505).
 * Versions it cannot parse (`HTTP/1.2`) share their parser error with a malformed request
 * line, so they stay 400.
 * RFC 9112 §3.2: an HTTP/1.1 request without Host, or with more than one, is answered 400
 * (Node keeps the first of several).
 */
function refusalOf(req: IncomingMessage): [number, string] | undefined {
  if (req.httpVersionMajor !== 1) return [505, 'the HTTP version must be 1.0 or 1.1'];
  if (req.headers.host === undefined && req.httpVersion === '1.1') {
    return [400, 'the Host header is required'];
  }
  if (repeated(req.rawHeaders, 'host') !== undefined) {
    return [400, 'the Host header must be sent once'];
  }
  return undefined;
}

const CLIENT_ERRORS: Readonly<Record<string, [number, string]>> = {
  HPE_HEADER_OVERFLOW: [431, 'request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'the request took too long'],
};

/** The refusal: the same RFC 6749 §5.2 answer an endpoint gives, closing the connection. */
function refusal(status: number, description: string): EndpointResponse {
  return new InvalidRequestError(description, {
    status,
    headers: { connection: 'close' },
  }).toEndpointResponse();
}

/** A whole HTTP/1.1 answer, for a socket no response object owns. */
function rawRefusal(status: number, description: string): string {
  const { headers, body } = refusal(status, description);
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${lines.join('')}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Answers through Node's response for the request, then closes: its body is not read. */
function refuseThrough(
  res: ServerResponse,
  status: number,
  description: string,
  onRefused: NodeServerOptions['onRefused'],
): void {
  onRefused?.({ status, reason: description });
  writeNodeResponse(res, refusal(status, description));
}

/** The sockets already being refused: a dead parser repeats its error for each chunk. */
const refusing = new WeakSet<Duplex>();

/**
 * A `clientError` listener for `node:http` servers: a request Node's parser refuses
 * (malformed, headers too large, too slow) gets an RFC 6749 §5.2 JSON answer instead of
 * Node's bare status line, then the connection closes. Answers already due on the
 * connection (a valid request followed by bad bytes) are written first, in order.
 * {@link createNodeServer} installs it.
 *
 * @example
 * ```ts
 * http.createServer(toNodeHandler(server)).on('clientError', answerClientError);
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-9.3.2
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  refuseClientError(error, socket, undefined);
}

function refuseClientError(
  error: Error & { code?: string },
  socket: Duplex,
  onRefused: NodeServerOptions['onRefused'],
): void {
  // The client went away (a reset, often mid-body): nobody to answer, nothing refused.
  if (error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  if (refusing.has(socket)) {
    // Already being refused, and now too slow as well: nothing will finish it.
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.destroy();
    return;
  }
  refusing.add(socket);
  const [status, description] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'malformed HTTP request'];
  afterAnswersDue(
    socket,
    () => {
      onRefused?.({ status, reason: description });
      // Ending already (the last answer said `connection: close`): nothing more to say.
      if (!socket.writable) return;
      socket.end(rawRefusal(status, description));
    },
    (res) => refuseThrough(res, status, description, onRefused),
  );
}

/**
 * Runs `then` once every answer queued on the connection is written. Node hands the socket
 * to the next queued response when one finishes, so each is awaited in turn. A response
 * whose request can no longer finish (the parser died in its body, or it is too slow) is
 * the refusal itself: `refuse` answers through it, and the connection closes after.
 */
function afterAnswersDue(
  socket: Duplex,
  then: () => void,
  refuse: (res: ServerResponse) => void,
): void {
  const message = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!message) {
    then();
    return;
  }
  if (!message.headersSent && message.req && !message.req.complete) {
    refuse(message);
    return;
  }
  const finished = () => {
    message.off('close', gone);
    afterAnswersDue(socket, then, refuse);
  };
  const gone = () => {
    message.off('finish', finished);
    socket.destroy();
  };
  message.once('finish', finished);
  message.once('close', gone);
}

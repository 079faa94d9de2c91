import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { type EndpointResponse, NO_STORE_HEADERS } from '../http/endpoint-response.js';
import { bodyStillComing } from './bridge.js';

/** The response side of a `node:http` or `node:http2` (compatibility) request. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/**
 * Writes an {@link EndpointResponse} to a `node:http` response: status, every header, body.
 *
 * @see https://nodejs.org/api/http.html#responsewriteheadstatuscode-statusmessage-headers
 */
export function writeNodeResponse(res: NodeResponse, response: EndpointResponse): void {
  if (res.headersSent) return;
  if (response.status === 204) {
    // A preflight's body is never read: unless it has all arrived, the connection closes
    // rather than drain an upload of any size (row 2).
    const headers = bodyStillComing((res as ServerResponse).req)
      ? { ...response.headers, connection: 'close' }
      : response.headers;
    (res as ServerResponse).writeHead(204, headers);
    res.end();
    return;
  }
  // With its length known, Node sends head and body in one write instead of chunked
  // framing (a size line, the body, a last empty chunk: a writev per answer). Copied with
  // Object.assign, not spread: on Node 20 an object spread from a fresh object made
  // writeHead cost ~10 µs more per answer (bench, issue #5), a third of a bare handler.
  const headers = Object.assign({}, response.headers);
  headers['content-length'] = String(Buffer.byteLength(response.body));
  if (bodyStillComing((res as ServerResponse).req)) headers.connection = 'close';
  (res as ServerResponse).writeHead(response.status, headers);
  res.end(response.body);
}

/** An answer Node refuses to write (a header it finds invalid) ends the connection instead. */
export function writeOrDestroy(res: NodeResponse, response: EndpointResponse): void {
  try {
    writeNodeResponse(res, response);
  } catch {
    res.destroy();
  }
}

/**
 * Answers 500 when a handler rejected: a bug, such as an endpoint name never registered.
 * Never throws, as the turn's queued writes rely on: a 500 Node refuses to write ends its
 * connection instead.
 */
export function writeServerError(res: NodeResponse): void {
  try {
    if (!res.headersSent) (res as ServerResponse).writeHead(500, NO_STORE_HEADERS);
    res.end('{"error":"server_error"}');
  } catch {
    res.destroy();
  }
}

import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Readable } from 'node:stream';
import { InvalidRequestError } from '../errors/oauth-error.js';
import {
  checkDeclaredLength,
  type EndpointRequest,
  PayloadTooLargeError,
} from '../http/endpoint-request.js';
import { isFormContentType } from '../http/form.js';

/** A request of `node:http`, or of `node:http2`'s compatibility API. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;

/** The readable side of a request body: the request itself, or a stream a framework hands. */
export type BodyStream = Readable;

/**
 * The body was read by something else before revokit saw the request, and nothing kept the
 * raw bytes. revokit refuses to answer rather than guess: without the raw body it cannot
 * see a repeated parameter (RFC 6749 §3.2), the size or the content type. It is answered as
 * a bare 500 `server_error`, reported as an `error` event and, once, as a process warning.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 */
export class BodyAlreadyReadError extends Error {
  override readonly name = 'BodyAlreadyReadError';
  readonly code = 'REVOKIT_BODY_ALREADY_READ';
}

/** How a framework integration finds a request's body. */
export interface NodeBodySource {
  /** The request target revokit sees; default `req.url`. Mounting may have rewritten it. */
  readonly url?: string | undefined;
  /** The raw body a parser that ran before kept, such as Koa's `ctx.request.rawBody`. */
  readonly rawBody?: string | undefined;
  /** The stream to read instead of the request, such as Fastify's parser payload. */
  readonly stream?: BodyStream | undefined;
  /**
   * The first sentence of the refusal when the body is gone: who may have read it and how
   * to mount revokit so that it reads the body itself.
   */
  readonly refusal: string;
}

/**
 * Reads a Node request body up to `limit` bytes. Past the limit it stops listening and
 * rejects at once; the 413 closes the connection, so the rest is never read.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-5
 */
export function readNodeBody(
  req: NodeRequest,
  limit: number,
  stream: BodyStream = req,
): Promise<string> {
  checkDeclaredLength(req.headers['content-length'], limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        stream.pause();
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
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('aborted', onError);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('aborted', onError);
  });
}

/**
 * The one way every Node-based integration (node:http, Express, Fastify, Koa, Hono on
 * Node) views a request: headers in place, the body read once, raw, up to the limit. When
 * a parser already read the body, its kept raw text is used; when nothing was kept,
 * the request is refused (see {@link BodyAlreadyReadError}), never answered from a parsed
 * object that may have merged repeated parameters.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function nodeEndpointRequest(req: NodeRequest, source: NodeBodySource): EndpointRequest {
  const header = (name: string): string | null => {
    const value = req.headers[name];
    if (value === undefined) return null;
    if (typeof value !== 'string') return value.join(', ');
    return name === 'authorization' || name === 'content-type'
      ? (repeated(req.rawHeaders, name) ?? value)
      : value;
  };
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    url: source.url ?? req.url ?? '/',
    header,
    async readBody(limit) {
      const { rawBody } = source;
      if (rawBody !== undefined) {
        if (Buffer.byteLength(rawBody) > limit) throw new PayloadTooLargeError(limit);
        return rawBody;
      }
      const stream = source.stream ?? req;
      if (!stream.readableDidRead && !stream.readableEnded) return readNodeBody(req, limit, stream);
      // Read by someone else. An empty body, or one whose content type the contract refuses
      // anyway, can still be answered exactly; a form body cannot.
      checkDeclaredLength(req.headers['content-length'], limit);
      if (!stream.readableDidRead || !isFormContentType(header('content-type'))) return '';
      throw bodyAlreadyRead(source.refusal);
    },
  };
}

/**
 * Whether the request's body is still arriving, unread: an answer before it (404, 405, a
 * refused content type) then closes the connection, or Node would read and discard the
 * whole body, whatever its size, to keep the connection alive.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-9.6
 */
export function bodyStillComing(req: NodeRequest | undefined): boolean {
  return req !== undefined && !req.complete && req.httpVersionMajor === 1;
}

/** The response side of a Node request: `node:http`'s, or `node:http2`'s compatibility one. */
interface NodeAnswer {
  readonly socket: { readonly writable: boolean } | null;
  readonly req?: {
    once(event: 'close', listener: () => void): unknown;
    off(event: 'close', listener: () => void): unknown;
  };
  once(event: 'socket', listener: () => void): unknown;
}

/**
 * Whether a request may be run now: `true`, or `false` on a connection that is closing
 * (an answer said `connection: close`), where RFC 9112 §9.6 forbids processing another
 * request. A request pipelined behind an answer still due waits for that answer, which
 * may close the connection: the promise resolves `true` when the connection passes to it,
 * `false` if it closes first.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-9.6
 */
export function answerable(res: NodeAnswer): boolean | Promise<boolean> {
  const socket = res.socket;
  if (socket !== null) return socket.writable;
  return new Promise((resolve) => {
    const gone = () => resolve(false);
    res.req?.once('close', gone);
    res.once('socket', () => {
      res.req?.off('close', gone);
      resolve(true);
    });
  });
}

/**
 * Runs `run(req, res)` as soon as {@link answerable} says the request may run; never if
 * it may not. `run` takes the pair so that a caller on the hot path allocates no closure.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-9.6
 */
export function whenAnswerable<Req, Res extends NodeAnswer>(
  req: Req,
  res: Res,
  run: (req: Req, res: Res) => void,
): void {
  const now = answerable(res);
  if (now === true) run(req, res);
  else if (now !== false) now.then((ok) => ok && run(req, res));
}

/**
 * A header (lower-case `name`) sent more than once, joined as Fetch's `Headers` joins it;
 * `undefined` when sent once or not at all. Node keeps only the first `Authorization` or `Content-Type`, so without this
 * two credentials would read as the first one on Node and as malformed on Fetch runtimes.
 *
 * @see https://fetch.spec.whatwg.org/#concept-header-list-get
 */
export function repeated(raw: readonly string[], name: string): string | undefined {
  let joined: string | undefined;
  let count = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    joined = count++ === 0 ? raw[i + 1]! : `${joined}, ${raw[i + 1]!}`;
  }
  return count > 1 ? joined : undefined;
}

const warned = new Set<string>();

/**
 * The refusal, warned about once per message: a misconfiguration should be loud where the
 * developer looks (stderr), not only in an `error` event nobody may listen to.
 *
 * @see https://nodejs.org/api/process.html#processemitwarningwarning-options
 */
export function bodyAlreadyRead(refusal: string): BodyAlreadyReadError {
  const error = new BodyAlreadyReadError(
    `revokit refused a request because its body was already read and the raw bytes are gone: ${refusal} Without the raw body, repeated parameters, the size limit and the content type cannot be checked (see docs/frameworks.md).`,
  );
  if (!warned.has(error.message)) {
    warned.add(error.message);
    globalThis.process?.emitWarning?.(error.message, { type: 'RevokitWarning', code: error.code });
  }
  return error;
}

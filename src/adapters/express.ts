import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthorizationServer } from '../server/authorization-server.js';
import { nodeEndpointRequest, whenAnswerable } from './bridge.js';
import { writeOrDestroy } from './node-response.js';
import { readInTurn, writeInTurn } from './turn-writer.js';

/**
 * The part of Express's `req` revokit reads. Structural, so using `revokit/express` needs
 * neither `@types/express` nor a particular Express version's types.
 */
export interface ExpressRequest extends IncomingMessage {
  /** The URL before mounting stripped a prefix from `req.url`. */
  readonly originalUrl?: string;
}

/** An Express request handler, as `app.all()`, `app.post()` and `app.use()` take it. */
export type ExpressHandler = (
  req: ExpressRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

// express.urlencoded() keeps no raw body (only its `verify` hook sees it), so once it has
// run nothing can be checked; the refusal says how to mount instead.
const REFUSAL =
  'a body parser such as express.urlencoded() ran first. Mount revokit before it (app.use(routes(server)) or app.all(path, endpoint(server, name)) above app.use(express.urlencoded())), or limit the parser to your other routes.';

function answer(
  server: AuthorizationServer,
  name: string,
  req: ExpressRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
): void {
  whenAnswerable(req, res, () => {
    const request = nodeEndpointRequest(req, { url: req.originalUrl, refusal: REFUSAL });
    const readIn = readInTurn();
    server
      .handle(name, request)
      .then((response) => writeInTurn(readIn, () => writeOrDestroy(res, response)), next);
  });
}

/**
 * One endpoint on a route of your choosing: the counterpart of Authlib's
 * `@app.route('/oauth/revoke', methods=['POST'])` over `create_endpoint_response`. Mount it
 * with `app.all` so that other methods get the contract's 405 with `Allow`; mount it before
 * any body parser, since revokit reads the raw body itself.
 *
 * @example
 * ```ts
 * app.all('/oauth/revoke', endpoint(server, 'revocation'));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export function endpoint(server: AuthorizationServer, name: string): ExpressHandler {
  return (req, res, next) => answer(server, name, req, res, next);
}

/**
 * Middleware serving every registered endpoint at its path (`server.options.paths`,
 * relative to where it is mounted): revocation, introspection and RFC 8414 metadata.
 * Requests for other paths go on to the next handler.
 *
 * @example
 * ```ts
 * app.use(routes(server));
 * app.use(express.urlencoded()); // the rest of the app's parsers come after
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export function routes(server: AuthorizationServer): ExpressHandler {
  return (req, res, next) => {
    const name = server.endpointAt(req.url ?? '/');
    if (name === undefined) next();
    else answer(server, name, req, res, next);
  };
}

/** The part of an Express application {@link mount} uses: Express 5's router, or 4's. */
export interface ExpressApp {
  use(handler: ExpressHandler): unknown;
  readonly router?: { stack: unknown[] } | undefined;
  readonly _router?: { stack: unknown[] } | undefined;
}

/**
 * Serves every registered endpoint at its path, ahead of every middleware already
 * installed: a body parser installed before (`express.urlencoded()`) then never sees
 * revokit's requests, so every contract row holds, and the app's own routes keep it.
 *
 * @example
 * ```ts
 * app.use(express.urlencoded());
 * mount(app, server);
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 */
export function mount(app: ExpressApp, server: AuthorizationServer): void {
  app.use(routes(server));
  const stack = (app.router ?? app._router)?.stack;
  if (!stack?.length) {
    throw new TypeError('revokit/express: mount() needs an Express 4 or 5 application');
  }
  stack.unshift(stack.pop());
}

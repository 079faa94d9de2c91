import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EndpointResponse } from '../http/endpoint-response.js';
import type { AuthorizationServer } from '../server/authorization-server.js';
import { answerable, bodyStillComing, nodeEndpointRequest } from './bridge.js';

/**
 * The part of Koa's `ctx` revokit reads and writes. Structural, so using `revokit/koa`
 * needs no `@types/koa`.
 */
export interface KoaContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Set `false` when revokit leaves the connection unanswered (RFC 9112 §9.6). */
  respond?: boolean;
  readonly path: string;
  readonly originalUrl: string;
  /** `rawBody` is read from it when a body parser kept one. */
  readonly request: object;
  status: number;
  body: unknown;
  set(headers: Record<string, string>): void;
}

/** A Koa middleware, as `app.use()` and routers take it. */
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;

/** The part of a Koa application {@link mount} uses. */
export interface KoaApplication {
  /** The prototype of every `ctx`: where {@link mount} tells body parsers to skip revokit. */
  readonly context: object;
  use(middleware: KoaMiddleware): unknown;
}

const REFUSAL =
  'a body parser that keeps no raw body (such as koa-body) ran first. Mount revokit before it, or use mount(app, server), which makes @koa/bodyparser and koa-bodyparser skip revokit’s paths.';

async function answer(server: AuthorizationServer, name: string, ctx: KoaContext): Promise<void> {
  // @koa/bodyparser and koa-bodyparser keep the raw text: repeated parameters, the size and
  // the content type can all still be checked on it.
  const rawBody = (ctx.request as { rawBody?: unknown }).rawBody;
  if (!(await answerable(ctx.res))) {
    ctx.respond = false;
    return;
  }
  const response = await server.handle(
    name,
    nodeEndpointRequest(ctx.req, {
      url: ctx.originalUrl,
      rawBody: typeof rawBody === 'string' ? rawBody : undefined,
      refusal: REFUSAL,
    }),
  );
  write(ctx, response);
}

function write(ctx: KoaContext, response: EndpointResponse): void {
  ctx.status = response.status;
  // Headers before the body: Koa guesses a Content-Type for a string body only if none is set.
  ctx.set(response.headers);
  if (bodyStillComing(ctx.req)) ctx.set({ connection: 'close' });
  ctx.body = response.status === 204 ? null : response.body;
}

/**
 * One endpoint as a Koa middleware, for a route of your choosing (with a router, or a path
 * check of your own): the counterpart of Authlib's `@app.route('/oauth/revoke')`.
 *
 * @example
 * ```ts
 * router.all('/oauth/revoke', endpoint(server, 'revocation'));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export function endpoint(server: AuthorizationServer, name: string): KoaMiddleware {
  return (ctx) => answer(server, name, ctx);
}

/**
 * Middleware serving every registered endpoint at its path (`server.options.paths`):
 * revocation, introspection and RFC 8414 metadata. Other paths go on to `next`.
 *
 * @example
 * ```ts
 * app.use(routes(server));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export function routes(server: AuthorizationServer): KoaMiddleware {
  return (ctx, next) => {
    const name = endpointOf(server, ctx);
    return name === undefined ? next() : answer(server, name, ctx);
  };
}

/**
 * The endpoint at the request's path. Koa's `ctx.path` throws on a target it cannot parse
 * (`http://[bad/x`); such a request is none of revokit's, and the app answers it.
 */
function endpointOf(
  server: AuthorizationServer,
  ctx: { readonly path: string },
): string | undefined {
  let path: string;
  try {
    path = ctx.path;
  } catch {
    return undefined;
  }
  return server.endpointAt(path);
}

/**
 * Mounts {@link routes} on an application, wherever its body parser is: requests for
 * revokit's paths read `ctx.disableBodyParser` as true, so `@koa/bodyparser` and
 * `koa-bodyparser` installed before revokit leave the body to it, and every row of the
 * contract holds, the size limit included.
 *
 * @example
 * ```ts
 * app.use(bodyParser());
 * mount(app, server);
 * ```
 * @see https://github.com/koajs/bodyparser#options
 */
export function mount(app: KoaApplication, server: AuthorizationServer): void {
  const inherited = Object.getOwnPropertyDescriptor(app.context, 'disableBodyParser');
  Object.defineProperty(app.context, 'disableBodyParser', {
    configurable: true,
    get(this: { path: string }): boolean {
      if (endpointOf(server, this) !== undefined) return true;
      return Boolean(inherited?.get ? inherited.get.call(this) : inherited?.value);
    },
    // A value set on one ctx is that request's own, as it would be without mount().
    set(this: object, value: unknown) {
      Object.defineProperty(this, 'disableBodyParser', {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
    },
  });
  app.use(routes(server));
}

import type { Readable } from 'node:stream';
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
} from 'fastify';
import type { AuthorizationServer } from '../server/authorization-server.js';
import { answerable, bodyStillComing, nodeEndpointRequest } from './bridge.js';

const REFUSAL =
  'a Fastify hook (onRequest or preParsing) read the request stream before revokit’s route. Leave the body of revokit’s routes unread.';

/** The payload stream each request of revokit's scope hands over, unread. */
const payloads = new WeakMap<FastifyRequest, Readable>();

/**
 * Makes revokit's plugin scope read raw bodies: every content type (none included) goes
 * through one parser that reads nothing and keeps the payload stream for the endpoint.
 * Fastify encapsulation scopes it, so `@fastify/formbody` or any other parser registered
 * outside keeps working for the rest of the app, and is overridden here.
 */
function keepRawBodies(instance: FastifyInstance): void {
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', (request, payload, done) => {
    payloads.set(request, payload);
    done(null, undefined);
  });
}

async function answer(
  server: AuthorizationServer,
  name: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  if (!(await answerable(reply.raw))) return reply.hijack();
  const response = await server.handle(
    name,
    nodeEndpointRequest(request.raw, {
      url: request.url,
      stream: payloads.get(request),
      refusal: REFUSAL,
    }),
  );
  reply.code(response.status).headers(response.headers);
  if (bodyStillComing(request.raw)) reply.header('connection', 'close');
  return reply.send(response.status === 204 ? undefined : response.body);
}

function route(
  instance: FastifyInstance,
  server: AuthorizationServer,
  name: string,
  path: string,
): void {
  const handler = (request: FastifyRequest, reply: FastifyReply) =>
    answer(server, name, request, reply);
  instance.all(path, {
    // Fastify answers a Content-Type it cannot even parse with its own 415 before any
    // handler; the contract answers it in order instead (405 first, then 413, then 400).
    errorHandler(error: FastifyError, request, reply) {
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return handler(request, reply);
      throw error;
    },
    handler,
  });
}

/**
 * A plugin serving one endpoint on a path of your choosing (default: its path in
 * `server.options.paths`), every method, so others get the contract's 405. Register it;
 * the plugin's scope reads the raw body even when `@fastify/formbody` is registered.
 *
 * @example
 * ```ts
 * app.register(endpoint(server, 'revocation', '/oauth/revoke'));
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export function endpoint(
  server: AuthorizationServer,
  name: string,
  path: string | undefined = server.options.paths[name],
): FastifyPluginCallback {
  if (path === undefined) throw new TypeError(`endpoint "${name}" has no path: pass one`);
  return (instance, _options, done) => {
    keepRawBodies(instance);
    route(instance, server, name, path);
    done();
  };
}

/**
 * A plugin serving every endpoint registered with the server at its path
 * (`server.options.paths`, under the plugin's `prefix` if any): revocation, introspection
 * and RFC 8414 metadata. Register the endpoints before the app starts.
 *
 * @example
 * ```ts
 * app.register(formbody); // for the app's other routes: it does not reach revokit's
 * app.register(routes(server));
 * ```
 * @see https://fastify.dev/docs/latest/Reference/Plugins/
 */
export function routes(server: AuthorizationServer): FastifyPluginCallback {
  return (instance, _options, done) => {
    keepRawBodies(instance);
    for (const [name, path] of Object.entries(server.options.paths)) {
      if (server.endpoint(name)) route(instance, server, name, path);
    }
    done();
  };
}

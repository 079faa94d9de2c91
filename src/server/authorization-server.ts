import type { ClientAuthMethod } from '../client-auth/client-auth-method.js';
import { clientSecretBasic } from '../client-auth/client-secret-basic.js';
import { clientSecretPost } from '../client-auth/client-secret-post.js';
import { type ClientStore, MemoryClientStore } from '../client-auth/client-store.js';
import type { ReplayCache } from '../client-auth/jti-cache.js';
import { none } from '../client-auth/none.js';
import { ASSERTION_ALGORITHMS, privateKeyJwt } from '../client-auth/private-key-jwt.js';
import {
  InvalidRequestError,
  OAuthError,
  TemporarilyUnavailableError,
  toOAuthError,
} from '../errors/oauth-error.js';
import { type EndpointRequest, fromFetchRequest, pathOf } from '../http/endpoint-request.js';
import { type EndpointResponse, toFetchResponse } from '../http/endpoint-response.js';
import {
  type AuthorizationServerMetadata,
  MetadataEndpoint,
} from '../rfc8414/metadata-endpoint.js';
import { type Awaitable, isPromiseLike } from '../util/awaitable.js';
import { type CorsOptions, corsHeaders, originProblem, preflightHeaders } from './cors.js';
import type { Endpoint, EndpointClass, HandleState } from './endpoint.js';
import { Emitter, type ServerEvents } from './events.js';
import { issuerProblem } from './issuer.js';
import { StoreDeadline } from './store-deadline.js';

/** Options of an {@link AuthorizationServer}. */
export interface AuthorizationServerOptions {
  /** Where clients are found. Default: an empty {@link MemoryClientStore}. */
  readonly clients?: ClientStore;
  /** The issuer identifier of RFC 8414. Default: the origin of each metadata request. */
  readonly issuer?: string;
  /** Largest request body accepted, in bytes (default 64 KiB). */
  readonly bodyLimit?: number;
  /** Browser access per origin; off by default. */
  readonly cors?: CorsOptions;
  /** How long a store call may take before the answer is 503, in ms (default 5000). */
  readonly storeTimeout?: number;
  /** The `Retry-After` of a 503, in seconds (default 1). */
  readonly retryAfter?: number;
  /** Path of each endpoint for {@link AuthorizationServer.fetch}, by endpoint name. */
  readonly paths?: Readonly<Record<string, string>>;
  /**
   * RFC 8414 fields of the rest of your authorization server (`authorization_endpoint`,
   * `token_endpoint`, `response_types_supported`…), served beside revokit's own. revokit's
   * `issuer` and its endpoints' fields win. `response_types_supported`, which RFC 8414
   * requires, defaults to `[]`: revokit alone has no authorization endpoint.
   */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /**
   * Where `private_key_jwt` remembers the `jti`s it has accepted (RFC 7523 §3). Default: in
   * this process, which is right for one server only; several servers must share one, such
   * as their token store.
   */
  readonly replayCache?: ReplayCache;
}

/** {@link AuthorizationServerOptions} with defaults applied. */
export interface ResolvedServerOptions {
  readonly issuer: string | undefined;
  readonly bodyLimit: number;
  readonly cors: CorsOptions | undefined;
  readonly storeTimeout: number;
  readonly retryAfter: number;
  readonly paths: Readonly<Record<string, string>>;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Where {@link AuthorizationServer.fetch} serves each endpoint unless told otherwise. */
export const DEFAULT_PATHS: Readonly<Record<string, string>> = Object.freeze({
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  metadata: '/.well-known/oauth-authorization-server',
});

/**
 * Refuses a numeric option that is not a whole number in range: `NaN` from an unset
 * environment variable would otherwise lift the body limit or time out every store call.
 */
function checkWhole(name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}: must be a whole number from ${min} to ${max}, not ${value}`);
  }
}

/**
 * The authorization server: a registry of clients, client authentication methods and
 * endpoints, in Authlib's design. It speaks Fetch (`Request` in, `Response` out) and uses
 * Web APIs only, so it runs on Node, Bun, Deno and Workers alike.
 *
 * @example
 * ```ts
 * const server = new AuthorizationServer({ clients });
 * server.registerEndpoint(createRevocationEndpoint(store));
 * const response = await server.createEndpointResponse('revocation', request);
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7009
 */
export class AuthorizationServer {
  readonly options: ResolvedServerOptions;
  readonly clients: ClientStore;
  /** `revoked`, `error` and `response` events. */
  readonly events = new Emitter<ServerEvents>();
  readonly #methods: Map<string, ClientAuthMethod>;
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #deadline: StoreDeadline;
  #routes = new Map<string, string>();

  constructor(options: AuthorizationServerOptions = {}) {
    if (options.issuer !== undefined) {
      const problem = issuerProblem(options.issuer);
      if (problem) throw new TypeError(`issuer: ${problem}`);
    }
    checkWhole('bodyLimit', options.bodyLimit, 1, Number.MAX_SAFE_INTEGER);
    // setTimeout fires at once past 2^31 - 1 ms, which would make every store call time out.
    checkWhole('storeTimeout', options.storeTimeout, 1, 2 ** 31 - 1);
    checkWhole('retryAfter', options.retryAfter, 0, Number.MAX_SAFE_INTEGER);
    checkWhole('cors.maxAge', options.cors?.maxAge, 0, Number.MAX_SAFE_INTEGER);
    for (const origin of options.cors?.origins ?? []) {
      const problem = originProblem(origin);
      if (problem) throw new TypeError(`cors.origins: ${problem}`);
    }
    this.clients = options.clients ?? new MemoryClientStore();
    this.#methods = new Map<string, ClientAuthMethod>([
      ['client_secret_basic', clientSecretBasic],
      ['client_secret_post', clientSecretPost],
      ['private_key_jwt', privateKeyJwt({ replayCache: options.replayCache })],
      ['none', none],
    ]);
    this.options = {
      issuer: options.issuer?.replace(/\/+$/, ''),
      bodyLimit: options.bodyLimit ?? 64 * 1024,
      cors: options.cors,
      storeTimeout: options.storeTimeout ?? 5000,
      retryAfter: options.retryAfter ?? 1,
      paths: { ...DEFAULT_PATHS, ...options.paths },
      metadata: { response_types_supported: [], ...options.metadata },
    };
    const { storeTimeout } = this.options;
    this.#deadline = new StoreDeadline(
      storeTimeout,
      () => new Error(`store call timed out after ${storeTimeout} ms`),
    );
    this.registerEndpoint(MetadataEndpoint);
  }

  /** The client authentication methods, by name, in the order they are tried. */
  get clientAuthMethods(): ReadonlyMap<string, ClientAuthMethod> {
    return this.#methods;
  }

  /**
   * Adds or replaces a client authentication method.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.2
   */
  registerClientAuthMethod(name: string, method: ClientAuthMethod): this {
    this.#methods.set(name, method);
    return this;
  }

  /**
   * Registers an endpoint, by class (built with no arguments) or as an instance, under its
   * `ENDPOINT_NAME`. A later registration under the same name replaces the earlier one.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  registerEndpoint<E extends Endpoint>(endpoint: EndpointClass<E> | E): E {
    const instance = typeof endpoint === 'function' ? new endpoint() : endpoint;
    if (!instance.name) throw new TypeError('an endpoint class must set a static ENDPOINT_NAME');
    instance.attach(this);
    this.#endpoints.set(instance.name, instance);
    this.#routes = new Map(
      [...this.#endpoints.keys()]
        .filter((name) => this.options.paths[name])
        .map((name) => [this.options.paths[name] as string, name]),
    );
    return instance;
  }

  /** The endpoint registered under `name`. */
  endpoint(name: string): Endpoint | undefined {
    return this.#endpoints.get(name);
  }

  /** Adds an event listener; returns a function that removes it. */
  on<K extends keyof ServerEvents>(
    name: K,
    listener: (event: ServerEvents[K]) => void,
  ): () => void {
    return this.events.on(name, listener);
  }

  /**
   * Answers a Fetch `Request` with the endpoint registered under `name`, whatever the
   * request's path: the counterpart of Authlib's `create_endpoint_response`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
   */
  async createEndpointResponse(name: string, request: Request): Promise<Response> {
    return toFetchResponse(await this.handle(name, fromFetchRequest(request)));
  }

  /**
   * A Fetch handler serving every registered endpoint at its path (see `paths`). Bound,
   * so `export default { fetch: server.fetch }` works on Workers, Bun and Deno.
   *
   * @see https://fetch.spec.whatwg.org/#fetch-method
   */
  readonly fetch = async (request: Request): Promise<Response> =>
    toFetchResponse(await this.route(fromFetchRequest(request)));

  /**
   * The name of the endpoint served at a request target's path (see `paths`), or
   * `undefined`: what a framework middleware asks before it answers or passes a request on.
   *
   * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
   */
  endpointAt(url: string): string | undefined {
    return this.#routes.get(pathOf(url));
  }

  /** Answers a runtime-neutral request by path. What the `node:http` adapter calls. */
  route(request: EndpointRequest): Promise<EndpointResponse> {
    const name = this.endpointAt(request.url);
    if (name === undefined) {
      const response = new InvalidRequestError('there is no endpoint at this path', {
        status: 404,
      }).toEndpointResponse();
      if (this.events.listens('response')) {
        this.events.emit('response', {
          endpoint: undefined,
          method: request.method,
          path: undefined,
          status: 404,
          clientId: undefined,
          durationMs: 0,
        });
      }
      return Promise.resolve(response);
    }
    return this.handle(name, request);
  }

  /**
   * Answers a runtime-neutral request with the endpoint named `name`. Never rejects for a
   * request's sake: whatever goes wrong becomes an RFC 6749 §5.2 answer.
   */
  handle(name: string, request: EndpointRequest): Promise<EndpointResponse> {
    const endpoint = this.#endpoints.get(name);
    if (!endpoint) return Promise.reject(new Error(`no endpoint is registered as "${name}"`));
    const logging = this.events.listens('response');
    const started = logging ? performance.now() : 0;
    const state: HandleState = {};
    let pending: Promise<EndpointResponse>;
    try {
      pending = endpoint.handle(request, state);
    } catch (error) {
      pending = Promise.reject(error);
    }
    // Chained, not awaited, as in ClientEndpoint.handle: no suspended frame a request.
    const answered = pending.then(undefined, (error: unknown) => this.renderError(error, name));
    if (!logging) return answered;
    return answered.then((response) => {
      this.events.emit('response', {
        endpoint: name,
        method: request.method,
        path: pathOf(request.url),
        status: response.status,
        clientId: state.clientId,
        durationMs: performance.now() - started,
      });
      return response;
    });
  }

  /**
   * Runs a storage call with the store timeout; a failure or a timeout becomes 503
   * `temporarily_unavailable`. An `OAuthError` thrown on purpose passes through. A call
   * that answers synchronously is answered synchronously, with no timer armed.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
   */
  callStore<T>(endpoint: string, call: () => Awaitable<T>): Awaitable<T> {
    let result: Awaitable<T>;
    try {
      result = call();
    } catch (error) {
      throw this.#unavailable(endpoint, error);
    }
    return isPromiseLike(result) ? this.#withTimeout(endpoint, result) : result;
  }

  #withTimeout<T>(endpoint: string, result: Promise<T>): Promise<T> {
    return this.#deadline.race(result, (error) => this.#unavailable(endpoint, error));
  }

  #unavailable(endpoint: string, error: unknown): OAuthError {
    if (error instanceof OAuthError) return error;
    this.events.emit('error', { endpoint, error });
    return new TemporarilyUnavailableError(undefined, {
      cause: error,
      retryAfter: this.options.retryAfter,
    });
  }

  /** Renders anything thrown as an answer; the unexpected as a bare 500 `server_error`. */
  renderError(error: unknown, endpoint: string): EndpointResponse {
    const oauthError = toOAuthError(error);
    if (oauthError !== error) this.events.emit('error', { endpoint, error });
    return oauthError.toEndpointResponse();
  }

  /**
   * The answer to a CORS preflight.
   *
   * @see https://fetch.spec.whatwg.org/#cors-preflight-fetch
   */
  preflight(request: EndpointRequest): Promise<EndpointResponse> {
    const cors = this.options.cors;
    const headers = cors ? preflightHeaders(cors, request.header('origin')) : {};
    return Promise.resolve({
      status: 204,
      headers: { ...headers, 'cache-control': 'no-store', pragma: 'no-cache' },
      body: '',
    });
  }

  /** Adds the CORS headers an answer needs, in place. */
  applyCors(request: EndpointRequest, response: EndpointResponse): void {
    const headers = corsHeaders(this.options.cors, request.header('origin'));
    if (headers) Object.assign(response.headers, headers);
  }

  /**
   * RFC 8414 metadata of the registered endpoints. Without a configured `issuer`, the
   * origin of the request stands in.
   *
   * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
   */
  metadata(request?: EndpointRequest): AuthorizationServerMetadata {
    const issuer = this.options.issuer ?? originOf(request);
    const methods = [...this.#methods.keys()];
    const metadata: AuthorizationServerMetadata = {
      ...structuredClone(this.options.metadata),
      issuer,
    };
    for (const name of ['revocation', 'introspection']) {
      const path = this.options.paths[name];
      const endpoint = this.#endpoints.get(name);
      if (!endpoint || !path) continue;
      metadata[`${name}_endpoint`] = issuer + path;
      metadata[`${name}_endpoint_auth_methods_supported`] =
        (endpoint as { acceptsPublicClients?: boolean }).acceptsPublicClients === false
          ? methods.filter((method) => method !== 'none')
          : methods;
      if (methods.includes('private_key_jwt')) {
        metadata[`${name}_endpoint_auth_signing_alg_values_supported`] = [...ASSERTION_ALGORITHMS];
      }
    }
    return metadata;
  }
}

function originOf(request: EndpointRequest | undefined): string {
  if (!request) return 'http://localhost';
  const absolute = /^https?:\/\//i.test(request.url);
  try {
    // Parsed, so that only an origin is echoed back: no user info, path or stray text.
    return new URL(absolute ? request.url : `http://${request.header('host') ?? 'localhost'}`)
      .origin;
  } catch (cause) {
    throw new InvalidRequestError('the request URL is malformed', { cause });
  }
}

import type { EndpointRequest } from '../http/endpoint-request.js';
import type { EndpointResponse } from '../http/endpoint-response.js';
import type { AuthorizationServer } from './authorization-server.js';

/** Filled in while a request is handled, for the access log. */
export interface HandleState {
  clientId?: string | undefined;
}

/**
 * A class of endpoint that {@link AuthorizationServer.registerEndpoint} accepts: it names
 * itself with `ENDPOINT_NAME` and can be built without arguments.
 */
export interface EndpointClass<E extends Endpoint = Endpoint> {
  new (): E;
  readonly ENDPOINT_NAME: string;
}

/**
 * An endpoint of the authorization server: something that turns a request into an answer.
 * Register it with {@link AuthorizationServer.registerEndpoint}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export abstract class Endpoint {
  /** The name the endpoint is registered and called under. */
  static readonly ENDPOINT_NAME: string = '';

  #server: AuthorizationServer | undefined;

  /** The server this endpoint is registered with. */
  get server(): AuthorizationServer {
    if (!this.#server) throw new Error(`${this.name} endpoint is not registered with a server`);
    return this.#server;
  }

  /** @internal Called by {@link AuthorizationServer.registerEndpoint}. */
  attach(server: AuthorizationServer): void {
    this.#server = server;
  }

  /** The registered name: the class's `ENDPOINT_NAME`. */
  get name(): string {
    return (this.constructor as typeof Endpoint).ENDPOINT_NAME;
  }

  /** The HTTP methods the endpoint answers, for `Allow`. */
  get methods(): readonly string[] {
    return ['POST'];
  }

  /**
   * Answers a request. Must not throw: errors render as RFC 6749 §5.2 answers.
   * `state` collects what the access log may show (the client id, never a token).
   */
  abstract handle(request: EndpointRequest, state?: HandleState): Promise<EndpointResponse>;
}

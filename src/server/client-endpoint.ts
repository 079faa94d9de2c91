import type { AuthenticatedClient } from '../client-auth/authenticate-client.js';
import { authenticateClient } from '../client-auth/authenticate-client.js';
import { InvalidRequestError } from '../errors/oauth-error.js';
import {
  checkDeclaredLength,
  type EndpointRequest,
  hasUserinfo,
  queryOf,
} from '../http/endpoint-request.js';
import { type EndpointResponse, jsonResponse } from '../http/endpoint-response.js';
import { type FormParams, isFormContentType, parseForm } from '../http/form.js';
import { parseTokenTypeHint, type TokenType } from '../tokens/token.js';
import { Endpoint, type HandleState } from './endpoint.js';

export type { HandleState };

/** The `token` and `token_type_hint` of a request. */
export interface TokenParams {
  readonly token: string;
  /** The hint, normalised; `undefined` when absent or not one revokit knows. */
  readonly tokenTypeHint: TokenType | undefined;
}

/** Parameters that carry credentials and must never travel in a URL. */
const NOT_IN_QUERY = ['token', 'client_secret', 'client_assertion'];

/**
 * Steps 3 to 5 once the body is read: the codings it was sent with, credentials in the
 * query, then the form itself (repeated parameters).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 */
function formOf(request: EndpointRequest, body: string): FormParams {
  // The body is read as sent: a compressed one would be parsed as if it were the form.
  const coding = request.header('content-encoding');
  if (coding && coding.toLowerCase() !== 'identity') {
    throw new InvalidRequestError('the body must be sent without a content coding');
  }
  // Node undoes chunked framing and nothing else, so `gzip, chunked` arrives compressed.
  const transfer = request.header('transfer-encoding');
  if (transfer && transfer.trim().toLowerCase() !== 'chunked') {
    throw new InvalidRequestError('the body must be sent with no transfer coding but chunked');
  }
  if (hasUserinfo(request.url)) {
    throw new InvalidRequestError('the request target must not carry user information');
  }
  const query = queryOf(request.url);
  if (query) {
    const search = new URLSearchParams(query);
    for (const name of NOT_IN_QUERY) {
      if (search.has(name)) throw new InvalidRequestError(`"${name}" must not be sent in the URL`);
    }
  }
  return parseForm(body);
}

/**
 * An endpoint that authenticated clients call with a form POST: the shared first steps
 * of revocation and introspection, in the contract's order. Each step is a method a
 * subclass can override.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
 */
export abstract class ClientEndpoint extends Endpoint {
  /** The endpoint's own steps, after {@link handle} has dealt with CORS and errors. */
  protected abstract process(
    request: EndpointRequest,
    state: HandleState,
  ): Promise<EndpointResponse>;

  handle(request: EndpointRequest, state: HandleState = {}): Promise<EndpointResponse> {
    const server = this.server;
    const cors = server.options.cors;
    let pending: Promise<EndpointResponse>;
    try {
      if (cors && request.method === 'OPTIONS') return Promise.resolve(server.preflight(request));
      pending = this.process(request, state);
    } catch (error) {
      pending = Promise.reject(error);
    }
    // Chained, not awaited: an async function's suspended frame was ~500 bytes a request
    // (issue #5), and the answer is the same either way.
    const answered = pending.then(undefined, this.#renderError);
    if (!cors) return answered;
    return answered.then((response) => {
      server.applyCors(request, response);
      return response;
    });
  }

  readonly #renderError = (error: unknown): EndpointResponse =>
    this.server.renderError(error, this.name);

  /**
   * Steps 1 to 5: method, body size, content type, credentials in the query, repeated
   * parameters.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
   */
  protected parse(request: EndpointRequest): Promise<FormParams> {
    // Chained, not awaited: no suspended async frame a request (issue #5). A throw is still
    // a rejection, as from an async function.
    try {
      if (request.method !== 'POST') {
        const allow = this.server.options.cors ? 'POST, OPTIONS' : 'POST';
        throw new InvalidRequestError('the method must be POST', {
          status: 405,
          headers: { allow },
        });
      }
      const limit = this.server.options.bodyLimit;
      if (!isFormContentType(request.header('content-type'))) {
        // Answered before the body arrives when its declared length settles row 2; a body
        // of unknown length is read up to the limit first, so that row 2 still comes first.
        const length = request.header('content-length');
        if (length !== null) checkDeclaredLength(length, limit);
        const refused = new InvalidRequestError(
          'the body must be application/x-www-form-urlencoded',
        );
        if (length !== null) throw refused;
        return request.readBody(limit).then(() => Promise.reject(refused));
      }
      return request.readBody(limit).then((body) => formOf(request, body));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Steps 6 and 7: one client authentication method, and a client it proves.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
   */
  protected authenticateClient(
    request: EndpointRequest,
    params: FormParams,
  ): Promise<AuthenticatedClient> {
    const server = this.server;
    return authenticateClient(
      {
        params,
        authorization: request.header('authorization'),
        request,
        audience: this.audience,
        callStore: this.#callStore,
      },
      server.clientAuthMethods,
      server.clients,
      this.name,
      (clientId) => server.callStore(this.name, () => server.clients.getClient(clientId)),
      this.acceptsPublicClients,
    );
  }

  /**
   * Whether a client may authenticate with `none` here. When not, such a request answers
   * as one without credentials (401 `invalid_client`), and the metadata leaves `none` out.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.1
   */
  get acceptsPublicClients(): boolean {
    return true;
  }

  /** One function for every request: the `callStore` client authentication methods get. */
  readonly #callStore = <T>(call: () => T | Promise<T>): T | Promise<T> =>
    this.server.callStore(this.name, call);

  #audience: readonly string[] | undefined;

  /**
   * What client assertions must name as `aud`: the issuer and this endpoint's URL. Without
   * a configured issuer, nothing: a host taken from the request could be forged.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
   */
  protected get audience(): readonly string[] {
    if (this.#audience) return this.#audience;
    const { issuer, paths } = this.server.options;
    const path = paths[this.name];
    // The issuer is kept without a trailing slash; a client may have been given it with one.
    this.#audience = issuer ? [issuer, `${issuer}/`, ...(path ? [issuer + path] : [])] : [];
    return this.#audience;
  }

  /**
   * Step 8: the `token` parameter, required and non-empty, and its hint.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  protected validate(params: FormParams): TokenParams {
    const token = params.get('token');
    if (token === undefined) throw new InvalidRequestError('the "token" parameter is required');
    return { token, tokenTypeHint: parseTokenTypeHint(params.get('token_type_hint')) };
  }

  /** An answer of 200 with a JSON body (a string is sent as it is) and the no-store headers. */
  protected ok(body: unknown): EndpointResponse {
    return jsonResponse(200, body);
  }
}

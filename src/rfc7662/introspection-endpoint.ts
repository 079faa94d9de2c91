import type { Client } from '../client-auth/client.js';
import type { EndpointRequest } from '../http/endpoint-request.js';
import type { EndpointResponse } from '../http/endpoint-response.js';
import { ClientEndpoint, type HandleState } from '../server/client-endpoint.js';
import { isActive, type TokenInfo, type TokenType } from '../tokens/token.js';
import { isPromiseLike } from '../util/awaitable.js';

/**
 * Policies of an {@link IntrospectionEndpoint}.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-4
 */
export interface IntrospectionEndpointOptions {
  /**
   * Who may introspect a token issued to another client. `'inactive'` (default): nobody,
   * such a token answers `{"active": false}`. `'resource-servers'`: clients registered
   * with `resource_server: true`. `'any-client'`: every authenticated client.
   */
  readonly foreignTokens?: 'inactive' | 'resource-servers' | 'any-client';
  /**
   * Whether a public client, one that authenticates with `none`, may introspect.
   * `'refuse'` (default): no. RFC 7662 §2.1 requires the endpoint to authorize its callers,
   * and a public `client_id` authorizes nobody: anyone may send it. Such a request answers
   * 401 `invalid_client`, as one without credentials, and `none` is left out of
   * `introspection_endpoint_auth_methods_supported`. `'own-tokens'`: a public client
   * learns of its own tokens only, whatever `foreignTokens` says; any other token answers
   * `{"active": false}`.
   */
  readonly publicClients?: 'refuse' | 'own-tokens';
}

/**
 * An RFC 7662 introspection answer.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
 */
export interface IntrospectionResponse {
  active: boolean;
  client_id?: string;
  scope?: string;
  sub?: string;
  exp?: number;
  iat?: number;
  token_type?: string;
  [claim: string]: unknown;
}

const INACTIVE = '{"active":false}';

/**
 * The RFC 7662 introspection endpoint. Subclass it and implement {@link queryToken}, or
 * let {@link createIntrospectionEndpoint} build one over a {@link TokenStore}. A token
 * that is unknown, expired, revoked or not the caller's to see answers exactly
 * `{"active": false}`, so a revocation shows at once.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662#section-2
 */
export abstract class IntrospectionEndpoint<
  T extends TokenInfo = TokenInfo,
> extends ClientEndpoint {
  static override readonly ENDPOINT_NAME: string = 'introspection';

  readonly options: Required<IntrospectionEndpointOptions>;

  constructor(options: IntrospectionEndpointOptions = {}) {
    super();
    this.options = {
      foreignTokens: options.foreignTokens ?? 'inactive',
      publicClients: options.publicClients ?? 'refuse',
    };
  }

  /**
   * Finds a token by its value, of any client, hinted type first. A thrown error answers
   * 503.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.1
   */
  abstract queryToken(
    token: string,
    tokenTypeHint: TokenType | undefined,
    client: Client,
  ): Promise<T | undefined> | T | undefined;

  /**
   * Whether `client` may learn about `token`. The default: its own tokens, and any token
   * where the `foreignTokens` policy allows. Never asked about another client's token for
   * a client that authenticated with `none`: that answer is always inactive.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-4
   */
  canIntrospect(token: T, client: Client): boolean {
    if (token.clientId === client.clientId) return true;
    switch (this.options.foreignTokens) {
      case 'any-client':
        return true;
      case 'resource-servers':
        return client.resourceServer === true;
      default:
        return false;
    }
  }

  /**
   * The claims of an active token. Override to add claims of your own.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7662#section-2.2
   */
  introspectToken(token: T): IntrospectionResponse {
    const claims: IntrospectionResponse = { active: true, client_id: token.clientId };
    if (token.scope !== undefined) claims.scope = token.scope;
    if (token.sub !== undefined) claims.sub = token.sub;
    if (token.expiresAt != null) claims.exp = token.expiresAt;
    if (token.issuedAt != null) claims.iat = token.issuedAt;
    // A refresh token is not a bearer access token: a resource server that checks
    // token_type must not take one for the other.
    claims.token_type = token.type === 'access_token' ? 'Bearer' : 'refresh_token';
    return claims;
  }

  /** `false` unless {@link IntrospectionEndpointOptions.publicClients} is `'own-tokens'`. */
  override get acceptsPublicClients(): boolean {
    return this.options.publicClients === 'own-tokens';
  }

  protected async process(request: EndpointRequest, state: HandleState): Promise<EndpointResponse> {
    const params = await this.parse(request);
    const { client, method } = await this.authenticateClient(request, params);
    state.clientId = client.clientId;
    const { token, tokenTypeHint } = this.validate(params);
    const lookup = this.server.callStore(this.name, () =>
      this.queryToken(token, tokenTypeHint, client),
    );
    const found = isPromiseLike(lookup) ? await lookup : lookup;
    if (!found || !isActive(found)) return this.ok(INACTIVE);
    // Let in by `publicClients: 'own-tokens'`, a client that proved nothing (`none`) learns
    // of its own tokens only: its client_id is public, so anyone could send it (RFC 7662 §4).
    if (found.clientId !== client.clientId && method === 'none') return this.ok(INACTIVE);
    if (!this.canIntrospect(found, client)) return this.ok(INACTIVE);
    return this.ok(this.introspectToken(found));
  }
}

import type { Client } from '../client-auth/client.js';
import { InvalidGrantError, UnsupportedTokenTypeError } from '../errors/oauth-error.js';
import type { EndpointRequest } from '../http/endpoint-request.js';
import type { EndpointResponse } from '../http/endpoint-response.js';
import { ClientEndpoint, type HandleState } from '../server/client-endpoint.js';
import { isActive, TOKEN_TYPES, type TokenInfo, type TokenType } from '../tokens/token.js';
import { type Awaitable, isPromiseLike } from '../util/awaitable.js';

/**
 * Policies of a {@link RevocationEndpoint}. Every default is the secure one.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export interface RevocationEndpointOptions {
  /**
   * A token issued to another client: `'refuse'` answers 400 `invalid_grant` and revokes
   * nothing (default); `'ignore'` answers 200 and revokes nothing. A public client (one
   * that authenticated with `none`) is always answered as with `'ignore'`.
   */
  readonly foreignToken?: 'refuse' | 'ignore';
  /**
   * Whether revoking an access token also revokes the refresh tokens of its grant, and
   * with them the whole grant (RFC 7009 §2.1 MAY). Default `false`: only the access token.
   */
  readonly revokeRefreshWithAccess?: boolean;
  /** The token types this endpoint revokes; others answer `unsupported_token_type`. */
  readonly tokenTypes?: readonly TokenType[];
}

/** What {@link RevocationEndpoint.revokeToken} is told besides the token. */
export interface RevocationContext {
  /** The authenticated client asking for the revocation. */
  readonly client: Client;
  /** `grant`: revoke the token's whole grant; `token`: only this token. */
  readonly cascade: 'token' | 'grant';
  /** The normalised `token_type_hint`, if any. */
  readonly tokenTypeHint: TokenType | undefined;
  /** The request being answered. */
  readonly request: EndpointRequest;
}

/** What {@link RevocationEndpoint.revokeIfAllowed} found and did. */
export interface OneStepRevocation<T> {
  /** The token as found, before the revocation; `undefined` if unknown. */
  readonly token: T | undefined;
  /** Whether it was revoked (only the token, never its grant). */
  readonly revoked: boolean;
}

/**
 * The RFC 7009 revocation endpoint, in Authlib's design: subclass it, implement
 * {@link queryToken} and {@link revokeToken}, and register the class with
 * `server.registerEndpoint(...)`. Or let {@link createRevocationEndpoint} build one over
 * a {@link TokenStore}.
 *
 * A request goes through the steps of `docs/behaviour.md` in order: parse, authenticate
 * the client, validate, find the token, check ownership, check the type, revoke, respond.
 *
 * @typeParam T - your token record; it must expose the {@link TokenInfo} fields.
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
export abstract class RevocationEndpoint<T extends TokenInfo = TokenInfo> extends ClientEndpoint {
  static override readonly ENDPOINT_NAME: string = 'revocation';

  readonly options: Required<RevocationEndpointOptions>;

  constructor(options: RevocationEndpointOptions = {}) {
    super();
    this.options = {
      foreignToken: options.foreignToken ?? 'refuse',
      revokeRefreshWithAccess: options.revokeRefreshWithAccess ?? false,
      tokenTypes: options.tokenTypes ?? TOKEN_TYPES,
    };
  }

  /**
   * Finds a token by its value. Look in the hinted type first, then in every other type
   * (RFC 7009 §2.1 MUST), and return tokens of every client: ownership is checked after,
   * by {@link checkOwnership}, so that a foreign token can be refused rather than
   * mistaken for an unknown one. A thrown error answers 503.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  abstract queryToken(
    token: string,
    tokenTypeHint: TokenType | undefined,
    client: Client,
  ): Promise<T | undefined> | T | undefined;

  /**
   * Revokes a token found by {@link queryToken}; with `context.cascade === 'grant'`, its
   * whole grant, atomically. A thrown error answers 503: make it all-or-nothing.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  abstract revokeToken(token: T, context: RevocationContext): Promise<void> | void;

  /**
   * Whether the client may revoke this token. The default: it was issued to the client.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  checkOwnership(token: T, client: Client): boolean {
    return token.clientId === client.clientId;
  }

  protected async process(request: EndpointRequest, state: HandleState): Promise<EndpointResponse> {
    const params = await this.parse(request);
    const { client, method } = await this.authenticateClient(request, params);
    state.clientId = client.clientId;
    const { token, tokenTypeHint } = this.validate(params);
    let found: T | undefined;
    const attempt = this.revokeIfAllowed(token, tokenTypeHint, client);
    if (attempt) {
      const outcome = isPromiseLike(attempt) ? await attempt : attempt;
      if (outcome.revoked && outcome.token) {
        return this.respondRevoked(outcome.token, client, 'token');
      }
      found = outcome.token;
    } else {
      const lookup = this.findToken(token, tokenTypeHint, client);
      found = isPromiseLike(lookup) ? await lookup : lookup;
    }
    if (!found || !isActive(found)) return this.ok('{}');
    if (!this.checkOwnership(found, client)) {
      // A client that proved nothing (`none`) is told nothing of another client's token:
      // its client_id is public, so a refusal would tell anyone that a token is live.
      if (this.options.foreignToken === 'ignore' || method === 'none') return this.ok('{}');
      throw new InvalidGrantError('the token was not issued to this client');
    }
    if (!this.options.tokenTypes.includes(found.type)) {
      throw new UnsupportedTokenTypeError(`revocation of ${found.type} is not supported`);
    }
    const cascade = this.cascadeOf(found);
    const revoking = this.server.callStore(this.name, () =>
      this.revokeToken(found, { client, cascade, tokenTypeHint, request }),
    );
    if (isPromiseLike(revoking)) await revoking;
    return this.respondRevoked(found, client, cascade);
  }

  /**
   * Steps 9 to 12 in one store call, where the storage can: finds the token and revokes
   * it only if every check of those steps passes and its revocation stops at the token.
   * Resolves to the token found and whether it was revoked; when it was not, nothing
   * changed and the pipeline goes on from the token found, as after {@link findToken}.
   * `undefined` (the default) when there is no such call: the steps run one by one.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  protected revokeIfAllowed(
    _token: string,
    _tokenTypeHint: TokenType | undefined,
    _client: Client,
  ): Awaitable<OneStepRevocation<T>> | undefined {
    return undefined;
  }

  /**
   * Whether the checks of steps 9 to 12 are this class's own, not a subclass's: only then
   * may {@link revokeIfAllowed} hand them to a store, which knows only these.
   */
  protected hasDefaultChecks(): boolean {
    const base = RevocationEndpoint.prototype;
    return (
      this.checkOwnership === base.checkOwnership &&
      this.cascadeOf === base.cascadeOf &&
      this.findToken === base.findToken
    );
  }

  /** Step 13: tells the listeners of `revoked`, and answers 200. */
  protected respondRevoked(token: T, client: Client, cascade: 'token' | 'grant'): EndpointResponse {
    if (this.server.events.listens('revoked')) {
      this.server.events.emit('revoked', {
        token: { type: token.type, clientId: token.clientId, id: token.id, grantId: token.grantId },
        client,
        cascade,
      });
    }
    return this.ok('{}');
  }

  /**
   * Step 9: the token, looked up through {@link queryToken} with storage failures
   * answered 503.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2
   */
  protected findToken(
    token: string,
    tokenTypeHint: TokenType | undefined,
    client: Client,
  ): Awaitable<T | undefined> {
    return this.server.callStore(this.name, () => this.queryToken(token, tokenTypeHint, client));
  }

  /**
   * How far a revocation reaches: a refresh token takes its grant with it (RFC 7009 §2.1
   * SHOULD); an access token only itself, unless `revokeRefreshWithAccess`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
   */
  protected cascadeOf(token: T): 'token' | 'grant' {
    return token.type === 'refresh_token' || this.options.revokeRefreshWithAccess
      ? 'grant'
      : 'token';
  }
}

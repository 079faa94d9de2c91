import { type EndpointResponse, jsonResponse, toFetchResponse } from '../http/endpoint-response.js';

/**
 * Error codes revokit answers with. The first five are RFC 6749 §5.2's; the rest come
 * from RFC 7009 §2.2.1 and RFC 6749 §4.1.2.1.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_token_type'
  | 'server_error'
  | 'temporarily_unavailable'
  | (string & {});

/** Options of {@link OAuthError}. */
export interface OAuthErrorOptions {
  /** The underlying error. Never rendered, only kept for logs and debugging. */
  cause?: unknown;
  /** Extra response headers, such as `WWW-Authenticate`, `Allow` or `Retry-After`. */
  headers?: Record<string, string>;
}

/**
 * The one error type of revokit: an RFC 6749 §5.2 error that renders itself as a response.
 * Anything thrown that is not an `OAuthError` is answered as {@link ServerError}, with
 * nothing of it leaked.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class OAuthError extends Error {
  override readonly name: string = 'OAuthError';
  /** The RFC `error` code. */
  readonly error: OAuthErrorCode;
  /** The HTTP status it is answered with. */
  readonly status: number;
  /** Human-readable `error_description`; never holds a token or a secret. */
  readonly description: string | undefined;
  /** Extra headers of the answer. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    error: OAuthErrorCode,
    status: number,
    description?: string,
    options: OAuthErrorOptions = {},
  ) {
    super(description ?? error, options.cause === undefined ? undefined : { cause: options.cause });
    this.error = error;
    this.status = status;
    this.description = description;
    this.headers = options.headers ?? {};
  }

  /** The RFC 6749 §5.2 JSON body. */
  toJSON(): { error: string; error_description?: string } {
    return this.description === undefined
      ? { error: this.error }
      : { error: this.error, error_description: this.description };
  }

  /** The runtime-neutral answer. */
  toEndpointResponse(): EndpointResponse {
    return jsonResponse(this.status, this.toJSON(), this.headers);
  }

  /**
   * The answer as a Fetch `Response`.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
   */
  toResponse(): Response {
    return toFetchResponse(this.toEndpointResponse());
  }
}

/** 400 `invalid_request`. @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 */
export class InvalidRequestError extends OAuthError {
  override readonly name = 'InvalidRequestError';
  constructor(description: string, options?: OAuthErrorOptions & { status?: number }) {
    super('invalid_request', options?.status ?? 400, description, options);
  }
}

/** 401 `invalid_client`. @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 */
export class InvalidClientError extends OAuthError {
  override readonly name = 'InvalidClientError';
  constructor(description = 'client authentication failed', options?: OAuthErrorOptions) {
    super('invalid_client', 401, description, options);
  }
}

/** 400 `invalid_grant`. @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2 */
export class InvalidGrantError extends OAuthError {
  override readonly name = 'InvalidGrantError';
  constructor(description: string, options?: OAuthErrorOptions) {
    super('invalid_grant', 400, description, options);
  }
}

/** 400 `unsupported_token_type`. @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1 */
export class UnsupportedTokenTypeError extends OAuthError {
  override readonly name = 'UnsupportedTokenTypeError';
  constructor(description: string, options?: OAuthErrorOptions) {
    super('unsupported_token_type', 400, description, options);
  }
}

/**
 * 503 `temporarily_unavailable` with `Retry-After`: storage failed or timed out.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 */
export class TemporarilyUnavailableError extends OAuthError {
  override readonly name = 'TemporarilyUnavailableError';
  constructor(
    description = 'token storage is unavailable, try again later',
    options?: OAuthErrorOptions & { retryAfter?: number },
  ) {
    super('temporarily_unavailable', 503, description, {
      ...options,
      headers: { 'retry-after': String(options?.retryAfter ?? 1), ...options?.headers },
    });
  }
}

/**
 * 500 `server_error`: the answer to anything unexpected, with no detail.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 */
export class ServerError extends OAuthError {
  override readonly name = 'ServerError';
  constructor(options?: OAuthErrorOptions) {
    super('server_error', 500, 'the server could not handle the request', options);
  }
}

/**
 * Turns anything thrown into an {@link OAuthError}: an `OAuthError` as it is, anything
 * else as a {@link ServerError} that keeps the original only as `cause`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export function toOAuthError(error: unknown): OAuthError {
  return error instanceof OAuthError ? error : new ServerError({ cause: error });
}

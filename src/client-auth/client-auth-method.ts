import type { EndpointRequest } from '../http/endpoint-request.js';
import type { FormParams } from '../http/form.js';
import type { Client } from './client.js';

/** What a client authentication method reads from a request. */
export interface ClientAuthInput {
  /** The form parameters of the body. */
  readonly params: FormParams;
  /** The `Authorization` header, or `null`. */
  readonly authorization: string | null;
  /** The whole request, for methods that need more (mutual TLS, DPoP…). */
  readonly request: EndpointRequest;
  /**
   * The identifiers this server answers to as an audience: its issuer and the URL of the
   * endpoint called. Empty when no issuer is configured.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
   */
  readonly audience: readonly string[];
  /**
   * Runs a store call the way the endpoint runs its own: bounded by the store timeout, a
   * failure answered 503 `temporarily_unavailable` and reported as an `error` event. For
   * methods that keep state, such as a replay cache. Absent, the call runs as it is.
   *
   * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
   */
  readonly callStore?: <T>(call: () => T | Promise<T>) => T | Promise<T>;
}

/**
 * Credentials a method found in a request, not yet checked.
 */
export interface ClientCredentials {
  /** The client the request claims to be. */
  readonly clientId: string;
  /**
   * Checks the credentials against the registered client. It is called with `undefined`
   * for an unknown client and must then do the same work and answer `false`, so that an
   * unknown client and a wrong secret cannot be told apart by time.
   */
  verify(client: Client | undefined): boolean | Promise<boolean>;
  /** The `WWW-Authenticate` challenge to answer with when authentication fails. */
  readonly challenge?: string;
}

/**
 * A client authentication method: finds its credentials in a request, or answers
 * `undefined` when the request does not use it. It may throw an `OAuthError` for
 * credentials present but malformed.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3
 */
export type ClientAuthMethod = (input: ClientAuthInput) => ClientCredentials | undefined;

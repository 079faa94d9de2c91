export type { AuthenticatedClient } from './client-auth/authenticate-client.js';
export { authenticateClient } from './client-auth/authenticate-client.js';
export type { Client, ClientMetadata } from './client-auth/client.js';
export {
  authMethodFor,
  CLIENT_AUTH_METHODS,
  clientFromMetadata,
} from './client-auth/client.js';
export type {
  ClientAuthInput,
  ClientAuthMethod,
  ClientCredentials,
} from './client-auth/client-auth-method.js';
export { clientSecretBasic } from './client-auth/client-secret-basic.js';
export { clientSecretPost } from './client-auth/client-secret-post.js';
export type {
  ClientStore,
  SaveClientResult,
  WritableClientStore,
} from './client-auth/client-store.js';
export { MemoryClientStore, sameClient } from './client-auth/client-store.js';
export type { ReplayCache } from './client-auth/jti-cache.js';
export { MemoryReplayCache } from './client-auth/jti-cache.js';
export { none } from './client-auth/none.js';
export type { PrivateKeyJwtOptions } from './client-auth/private-key-jwt.js';
export {
  ASSERTION_ALGORITHMS,
  JWT_BEARER_ASSERTION,
  privateKeyJwt,
} from './client-auth/private-key-jwt.js';
export { verifySecret } from './client-auth/secret.js';
export { sha256, timingSafeEqual } from './crypto/digest.js';
export type { OAuthErrorCode, OAuthErrorOptions } from './errors/oauth-error.js';
export {
  InvalidClientError,
  InvalidGrantError,
  InvalidRequestError,
  OAuthError,
  ServerError,
  TemporarilyUnavailableError,
  toOAuthError,
  UnsupportedTokenTypeError,
} from './errors/oauth-error.js';
export type { EndpointRequest } from './http/endpoint-request.js';
export {
  fromFetchRequest,
  PayloadTooLargeError,
  pathOf,
  queryOf,
  readStream,
} from './http/endpoint-request.js';
export type { EndpointResponse } from './http/endpoint-response.js';
export { jsonResponse, NO_STORE_HEADERS, toFetchResponse } from './http/endpoint-response.js';
export { FormParams, isFormContentType, parseForm } from './http/form.js';
export type {
  StoreRevocationEndpoint,
  StoreRevocationEndpointClass,
} from './rfc7009/create-revocation-endpoint.js';
export { createRevocationEndpoint } from './rfc7009/create-revocation-endpoint.js';
export type {
  OneStepRevocation,
  RevocationContext,
  RevocationEndpointOptions,
} from './rfc7009/revocation-endpoint.js';
export { RevocationEndpoint } from './rfc7009/revocation-endpoint.js';
export type {
  StoreIntrospectionEndpoint,
  StoreIntrospectionEndpointClass,
} from './rfc7662/create-introspection-endpoint.js';
export { createIntrospectionEndpoint } from './rfc7662/create-introspection-endpoint.js';
export type {
  IntrospectionEndpointOptions,
  IntrospectionResponse,
} from './rfc7662/introspection-endpoint.js';
export { IntrospectionEndpoint } from './rfc7662/introspection-endpoint.js';
export type { AuthorizationServerMetadata } from './rfc8414/metadata-endpoint.js';
export { MetadataEndpoint } from './rfc8414/metadata-endpoint.js';
export type {
  AuthorizationServerOptions,
  ResolvedServerOptions,
} from './server/authorization-server.js';
export { AuthorizationServer, DEFAULT_PATHS } from './server/authorization-server.js';
export type { TokenParams } from './server/client-endpoint.js';
export { ClientEndpoint } from './server/client-endpoint.js';
export type { CorsOptions } from './server/cors.js';
export type { EndpointClass, HandleState } from './server/endpoint.js';
export { Endpoint } from './server/endpoint.js';
export type { ErrorEvent, ResponseEvent, RevokedEvent, ServerEvents } from './server/events.js';
export { findTokenByValue } from './stores/find-token-by-value.js';
export { MemoryTokenStore } from './stores/memory/memory-token-store.js';
export { checkTokens } from './stores/token-record.js';
export type {
  Awaitable,
  ConditionalRevocation,
  MigrationResult,
  PurgeOptions,
  RevocationConditions,
  RevokeFilter,
  RevokeGrantOptions,
  StoredToken,
  TokenStore,
} from './stores/token-store.js';
export { assertFilter, meetsConditions } from './stores/token-store.js';
export type { TokenInfo, TokenType } from './tokens/token.js';
export { isActive, lookupOrder, parseTokenTypeHint, TOKEN_TYPES } from './tokens/token.js';

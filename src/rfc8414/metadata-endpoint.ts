import { InvalidRequestError } from '../errors/oauth-error.js';
import type { EndpointRequest } from '../http/endpoint-request.js';
import type { EndpointResponse } from '../http/endpoint-response.js';
import { Endpoint } from '../server/endpoint.js';

/**
 * RFC 8414 authorization server metadata, as far as revokit's endpoints go.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export interface AuthorizationServerMetadata {
  issuer: string;
  revocation_endpoint?: string;
  revocation_endpoint_auth_methods_supported?: string[];
  introspection_endpoint?: string;
  introspection_endpoint_auth_methods_supported?: string[];
  [field: string]: unknown;
}

/**
 * `GET /.well-known/oauth-authorization-server`: the metadata of the endpoints registered
 * with the server.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export class MetadataEndpoint extends Endpoint {
  static override readonly ENDPOINT_NAME: string = 'metadata';

  override get methods(): readonly string[] {
    return ['GET', 'HEAD'];
  }

  async handle(request: EndpointRequest): Promise<EndpointResponse> {
    const response: EndpointResponse =
      request.method !== 'GET' && request.method !== 'HEAD'
        ? new InvalidRequestError('the method must be GET', {
            status: 405,
            headers: { allow: 'GET, HEAD' },
          }).toEndpointResponse()
        : {
            status: 200,
            headers: { 'content-type': 'application/json', 'cache-control': 'max-age=300' },
            body: JSON.stringify(this.server.metadata(request)),
          };
    // A browser app of an allowed origin reads the metadata with a simple GET: no preflight.
    if (this.server.options.cors) this.server.applyCors(request, response);
    return response;
  }
}

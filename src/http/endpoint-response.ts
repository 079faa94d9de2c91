/**
 * The runtime-neutral answer of an endpoint: what a Fetch `Response` or a `node:http`
 * `ServerResponse` is made from. Adapters write it without building a `Response`,
 * which keeps the hot path close to a bare handler.
 */
export interface EndpointResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Headers every token-endpoint answer carries, success or error.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export const NO_STORE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json',
  'cache-control': 'no-store',
  pragma: 'no-cache',
});

/**
 * A JSON answer with the no-store headers of RFC 6749 §5.1.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function jsonResponse(
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): EndpointResponse {
  return {
    status,
    headers: headers ? { ...NO_STORE_HEADERS, ...headers } : { ...NO_STORE_HEADERS },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

/**
 * Converts an {@link EndpointResponse} to a Fetch `Response`.
 *
 * @see https://fetch.spec.whatwg.org/#response-class
 */
export function toFetchResponse(response: EndpointResponse): Response {
  return new Response(response.status === 204 ? null : response.body, {
    status: response.status,
    headers: response.headers,
  });
}

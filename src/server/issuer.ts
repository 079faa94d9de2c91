/**
 * Why `value` cannot be an RFC 8414 issuer, or `undefined` if it can: an `https` (or, for
 * development, `http`) URL with no query, fragment or user info.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-2
 */
export function issuerProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL such as https://auth.example`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `"${value}" must be an https URL`;
  }
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    return `"${value}" must have no query and no fragment`;
  }
  if (url.username || url.password) return `"${value}" must hold no user name or password`;
  return undefined;
}

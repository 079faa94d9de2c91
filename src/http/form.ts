import { InvalidRequestError } from '../errors/oauth-error.js';

/**
 * The parameters of an `application/x-www-form-urlencoded` body, each given at most once.
 * A parameter sent with an empty value reads as absent.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1
 */
export class FormParams {
  readonly #values: Map<string, string>;

  constructor(values: Map<string, string>) {
    this.#values = values;
  }

  /**
   * The value of a parameter, or `undefined` when it is absent or empty.
   *
   * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.1
   */
  get(name: string): string | undefined {
    const value = this.#values.get(name);
    return value === '' ? undefined : value;
  }

  /** Whether a parameter was sent with a non-empty value. */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }
}

/**
 * Parses a form body, refusing any parameter given twice, any that is not valid UTF-8, and
 * a `%` that does not begin a percent-encoded octet.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-2.1
 */
export function parseForm(body: string): FormParams {
  const values = new Map<string, string>();
  if (PLAIN.test(body)) {
    // Nothing to decode: the form parser would only split, so split here, without the
    // URLSearchParams object and the [name, value] pair per parameter (issue #5).
    for (let start = 0; start <= body.length; ) {
      let end = body.indexOf('&', start);
      if (end === -1) end = body.length;
      if (end > start) {
        const eq = body.indexOf('=', start);
        if (eq === -1 || eq > end) add(values, body.slice(start, end), '');
        else add(values, body.slice(start, eq), body.slice(eq + 1, end));
      }
      start = end + 1;
    }
  } else {
    // The form parser keeps such a "%" as it is, so `%zz` and `%25zz` would name one token,
    // and a token sent unencoded would be answered 200 unrevoked (RFC 3986 §2.1).
    if (MALFORMED_ESCAPE.test(body)) {
      throw new InvalidRequestError(
        'the body has malformed percent-encoding: a "%" not followed by two hex digits',
      );
    }
    for (const [name, value] of new URLSearchParams(body)) {
      // U+FFFD is what invalid UTF-8 decodes to, raw or percent-encoded: accepted, two
      // different byte strings would name the same token.
      if (value.includes('\uFFFD') || name.includes('\uFFFD')) {
        throw new InvalidRequestError('the body is not valid UTF-8');
      }
      add(values, name, value);
    }
  }
  return new FormParams(values);
}

/**
 * ASCII without `%` and `+`: a body the form parser (WHATWG URL, application/x-www-form-
 * urlencoded) would leave as it is but for splitting it at `&` and the first `=`.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ASCII range, by design.
const PLAIN = /^[\x00-\x24\x26-\x2a\x2c-\x7f]*$/;

const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

function add(values: Map<string, string>, name: string, value: string): void {
  if (values.has(name)) throw new InvalidRequestError(`parameter "${safeName(name)}" is repeated`);
  values.set(name, value);
}

/**
 * Whether a `Content-Type` is `application/x-www-form-urlencoded`, parameters aside.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export function isFormContentType(contentType: string | null): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

const ECHOED = new Set([
  'token',
  'token_type_hint',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
]);

/** Only well-known names are echoed: an unknown name may be a credential sent by mistake. */
function safeName(name: string): string {
  return ECHOED.has(name) ? name : '(unrecognized)';
}

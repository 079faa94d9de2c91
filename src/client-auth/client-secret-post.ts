import type { ClientAuthMethod } from './client-auth-method.js';
import { verifySecret } from './secret.js';

/**
 * `client_secret_post`: `client_id` and `client_secret` in the form body.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export const clientSecretPost: ClientAuthMethod = ({ params }) => {
  const secret = params.get('client_secret');
  if (secret === undefined) return undefined;
  const clientId = params.get('client_id') ?? '';
  return { clientId, verify: (client) => verifySecret(client, secret) };
};

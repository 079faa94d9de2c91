import type { ClientAuthMethod } from './client-auth-method.js';

/**
 * `none`: a public client identifies itself with `client_id` alone. Tried only when no
 * other method is present.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export const none: ClientAuthMethod = ({ params }) => {
  const clientId = params.get('client_id');
  if (clientId === undefined) return undefined;
  return { clientId, verify: (client) => client !== undefined };
};

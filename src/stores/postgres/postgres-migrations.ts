/**
 * The PostgreSQL schema, one migration a version. A migration is never edited once
 * released: a change is a new entry, so every database walks the same steps.
 */
export const POSTGRES_MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE revokit_tokens (
  id text PRIMARY KEY,
  type text NOT NULL CHECK (type IN ('access_token', 'refresh_token')),
  client_id text NOT NULL,
  grant_id text NOT NULL,
  issued_at bigint NOT NULL,
  expires_at bigint,
  revoked_at bigint,
  scope text,
  sub text
);
CREATE INDEX revokit_tokens_grant_id ON revokit_tokens (grant_id);
CREATE INDEX revokit_tokens_client_id ON revokit_tokens (client_id);
CREATE INDEX revokit_tokens_sub ON revokit_tokens (sub);
CREATE INDEX revokit_tokens_expires_at ON revokit_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX revokit_tokens_revoked_no_expiry ON revokit_tokens (revoked_at)
  WHERE expires_at IS NULL AND revoked_at IS NOT NULL;

-- One row a grant. Saving a token locks its grant's row and revoking a grant locks it too,
-- so a rotation racing a revocation either lands before it (and is revoked by it) or sees
-- the revocation (and is stored revoked): never a live token in a revoked grant.
CREATE TABLE revokit_grants (
  grant_id text PRIMARY KEY,
  revoked_at bigint
);

CREATE TABLE revokit_clients (
  client_id text PRIMARY KEY,
  client_secret_digest text,
  client_secret_expires_at bigint,
  token_endpoint_auth_method text NOT NULL,
  revocation_endpoint_auth_method text,
  introspection_endpoint_auth_method text,
  resource_server boolean NOT NULL DEFAULT false
);

-- The grant cascade in one round trip and one transaction. VOLATILE: under READ COMMITTED
-- each statement takes a fresh snapshot, so the UPDATE sees every token committed by a
-- save that held the grant's lock while this call waited for it.
CREATE FUNCTION revokit_revoke_grant(p_grant_id text, p_at bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  n integer;
BEGIN
  INSERT INTO revokit_grants (grant_id, revoked_at) VALUES (p_grant_id, p_at)
  ON CONFLICT (grant_id) DO UPDATE
    SET revoked_at = COALESCE(revokit_grants.revoked_at, EXCLUDED.revoked_at);
  -- Rows are locked in id order, as revokeWhere does, so a cascade and a bulk revocation
  -- over the same tokens wait for each other instead of deadlocking.
  UPDATE revokit_tokens SET revoked_at = p_at
  WHERE id IN (SELECT id FROM revokit_tokens
               WHERE grant_id = p_grant_id AND revoked_at IS NULL
               ORDER BY id FOR UPDATE)
    AND revoked_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
`,
  },
  {
    // Version 2: the public keys of `private_key_jwt` clients (RFC 7523 §2.2), as JSON text:
    // compared as text by saveClient, as the other stores do. A nullable column with no
    // default is a catalog change only, so it does not rewrite or long-lock the table.
    version: 2,
    sql: `
ALTER TABLE revokit_clients ADD COLUMN IF NOT EXISTS jwks text;
`,
  },
];

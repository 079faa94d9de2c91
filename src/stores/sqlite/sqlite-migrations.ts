/**
 * The SQLite schema, one migration a version. A migration is never edited once released:
 * a change is a new entry, so every database walks the same steps.
 */
export const SQLITE_MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE revokit_tokens (
  id TEXT PRIMARY KEY NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('access_token', 'refresh_token')),
  client_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  scope TEXT,
  sub TEXT
) WITHOUT ROWID;
CREATE INDEX revokit_tokens_grant_id ON revokit_tokens (grant_id);
CREATE INDEX revokit_tokens_client_id ON revokit_tokens (client_id);
CREATE INDEX revokit_tokens_sub ON revokit_tokens (sub) WHERE sub IS NOT NULL;
CREATE INDEX revokit_tokens_expires_at ON revokit_tokens (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX revokit_tokens_revoked_no_expiry ON revokit_tokens (revoked_at)
  WHERE expires_at IS NULL AND revoked_at IS NOT NULL;
CREATE TABLE revokit_revoked_grants (
  grant_id TEXT PRIMARY KEY NOT NULL,
  revoked_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE revokit_clients (
  client_id TEXT PRIMARY KEY NOT NULL,
  client_secret_digest TEXT,
  client_secret_expires_at INTEGER,
  token_endpoint_auth_method TEXT NOT NULL,
  revocation_endpoint_auth_method TEXT,
  introspection_endpoint_auth_method TEXT,
  resource_server INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
`,
  },
  {
    // Version 2: the public keys of `private_key_jwt` clients (RFC 7523 §2.2), as JSON text.
    // Adding a nullable column rewrites no row: clients of version 1 read as keyless.
    version: 2,
    sql: `
ALTER TABLE revokit_clients ADD COLUMN jwks TEXT;
`,
  },
  {
    // Version 3: a grant cascade marks the grant only, and lookups read a token of a marked
    // grant as revoked (issue #5: a 10,000-token cascade wrote 10,000 scattered rows). The
    // version bump is what matters: a revokit that knows only version 2 would read such
    // tokens as active, so it must refuse this database. The index lets purge find
    // the grants revoked before its cutoff without reading every marker.
    version: 3,
    sql: `
CREATE INDEX revokit_revoked_grants_revoked_at ON revokit_revoked_grants (revoked_at);
`,
  },
  {
    // Version 4: the jtis of accepted client assertions (RFC 7523 §3), so that every
    // process on the database accepts an assertion once between them.
    version: 4,
    sql: `
CREATE TABLE revokit_assertions (
  client_id TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (client_id, jti)
) WITHOUT ROWID;
CREATE INDEX revokit_assertions_expires_at ON revokit_assertions (expires_at);
`,
  },
  {
    // Version 5: the ledger of the ids a seed stored (saveTokensOnce). purge never empties
    // it, so a seed applied at every start cannot bring back a token purge deleted.
    version: 5,
    sql: `
CREATE TABLE revokit_seeded (
  id TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;
`,
  },
];

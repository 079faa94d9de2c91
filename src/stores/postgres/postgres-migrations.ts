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
  {
    // Version 3 (issue #5 "Cascade"): a grant is revoked by its marker alone. Rewriting
    // every token row of a 10,000-token grant (non-HOT, six indexes) cost ~330 ms; now
    // lookups read COALESCE(token, grant) and the cascade writes one row. Token rows
    // revoked the old way keep their own time, which wins, so nothing is rewritten here.
    //
    // Counting stays exact without token row locks because every writer of a token's
    // revocation is serialised against the cascade of its grant, by one of two locks the
    // cascade takes: the grant's advisory lock (7009, hashtext(grant_id)), exclusive for
    // the cascade and shared for revokeToken, which costs no row write; and the grant row
    // FOR UPDATE, which the bulk revocation's FOR KEY SHARE waits for (row locks, unlike
    // advisory locks, do not fill the shared lock table however many grants it covers).
    // Rotations (FOR NO KEY UPDATE of the grant row) still wait for the cascade and not
    // for bulk revocations. Whichever lock comes second, the later statement runs in a
    // fresh READ COMMITTED snapshot and sees the other's commit.
    //
    // Revoking a token rewrites its row. With revoked_at in an index (v1's partial index
    // for purge) no such update could be HOT, so each revocation also wrote an entry into
    // every one of the six indexes; without it, and with room left on each page
    // (fillfactor), the new row version stays on its page and no index is touched. Purge
    // finds the revoked tokens without expiry through an index on the never-changing id of
    // tokens without expiry instead. Lookups and cascades read only revoked grants through
    // a partial index, small enough to stay in memory, not the index of every grant.
    version: 3,
    sql: `
DROP INDEX IF EXISTS revokit_tokens_revoked_no_expiry;
CREATE INDEX revokit_tokens_no_expiry ON revokit_tokens (id) WHERE expires_at IS NULL;
ALTER TABLE revokit_tokens SET (fillfactor = 85);
CREATE INDEX revokit_grants_revoked ON revokit_grants (grant_id) INCLUDE (revoked_at)
  WHERE revoked_at IS NOT NULL;

CREATE OR REPLACE FUNCTION revokit_revoke_grant(p_grant_id text, p_at bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  previous bigint;
  n integer;
BEGIN
  PERFORM pg_advisory_xact_lock(7009, hashtext(p_grant_id));
  -- Usually one statement; the loop covers a grant row that does not exist yet or that a
  -- purge deleted in between (purge deletes only grants without tokens).
  LOOP
    SELECT revoked_at INTO previous FROM revokit_grants
    WHERE grant_id = p_grant_id FOR UPDATE;
    EXIT WHEN FOUND;
    INSERT INTO revokit_grants (grant_id) VALUES (p_grant_id) ON CONFLICT (grant_id) DO NOTHING;
  END LOOP;
  IF previous IS NOT NULL THEN
    RETURN 0;
  END IF;
  UPDATE revokit_grants SET revoked_at = p_at WHERE grant_id = p_grant_id;
  SELECT count(*) INTO n FROM revokit_tokens
  WHERE grant_id = p_grant_id AND revoked_at IS NULL;
  RETURN n;
END
$$;

-- A token of a revoked grant is already revoked: it is not marked again, nor counted.
CREATE FUNCTION revokit_revoke_token(p_id text, p_at bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_grant_id text;
  v_revoked_at bigint;
  n integer;
BEGIN
  SELECT grant_id, revoked_at INTO v_grant_id, v_revoked_at FROM revokit_tokens WHERE id = p_id;
  -- A revocation is never undone, so one already recorded needs no lock.
  IF NOT FOUND OR v_revoked_at IS NOT NULL THEN
    RETURN 0;
  END IF;
  PERFORM pg_advisory_xact_lock_shared(7009, hashtext(v_grant_id));
  UPDATE revokit_tokens SET revoked_at = p_at
  WHERE id = p_id AND revoked_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM revokit_grants g
                    WHERE g.grant_id = v_grant_id AND g.revoked_at IS NOT NULL);
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;

-- The revocations of one turn of a server's event loop, in one transaction and one WAL
-- flush (group commit): returns the ids it revoked. Every shared advisory lock is taken
-- before any token row, so the batch never holds a row while waiting for a cascade;
-- rows are locked in id order, as the bulk revocation's are.
CREATE FUNCTION revokit_revoke_tokens(p_ids text[], p_ats bigint[]) RETURNS text[]
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  revoked text[];
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7009, k)
  FROM (SELECT DISTINCT hashtext(grant_id) AS k FROM revokit_tokens
        WHERE id = ANY(p_ids) AND revoked_at IS NULL ORDER BY 1) keys;
  WITH asked AS (
    -- A token asked for twice is revoked at the time of the first asking.
    SELECT DISTINCT ON (id) id, at FROM unnest(p_ids, p_ats) WITH ORDINALITY AS a(id, at, n)
    ORDER BY id, n
  ), done AS (
    UPDATE revokit_tokens t SET revoked_at = asked.at
    FROM asked
    WHERE t.id = asked.id
      AND t.id IN (SELECT id FROM revokit_tokens
                   WHERE id = ANY(p_ids) AND revoked_at IS NULL ORDER BY id FOR UPDATE)
      AND t.revoked_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM revokit_grants g
                      WHERE g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL)
    RETURNING t.id
  )
  SELECT coalesce(array_agg(id), '{}') INTO revoked FROM done;
  RETURN revoked;
END
$$;
`,
  },
  {
    // Version 4 (issue #5): find and revoke in one round trip. The revocation endpoint asks
    // for a token to be revoked only if it is active, of its client and of a type whose
    // revocation stops at the token; the function answers every token as it was before
    // (the statement's snapshot) and which it revoked. A function only: servers of
    // version 3 keep working beside it. The locks are those of revokit_revoke_tokens, in
    // the same order: shared advisory locks of the grants first, then rows by id.
    version: 4,
    sql: `
CREATE FUNCTION revokit_revoke_tokens_if(
  p_ids text[], p_client_ids text[], p_types text[], p_ats bigint[]
) RETURNS TABLE (
  id text, type text, client_id text, grant_id text, issued_at bigint, expires_at bigint,
  revoked_at bigint, scope text, sub text, revoked boolean
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  live integer;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7009, k)
  FROM (SELECT DISTINCT hashtext(t.grant_id) AS k FROM revokit_tokens t
        WHERE t.id = ANY(p_ids) AND t.revoked_at IS NULL ORDER BY 1) keys;
  GET DIAGNOSTICS live = ROW_COUNT;
  IF live = 0 THEN
    -- Nothing unrevoked asked for (unknown tokens, mostly): read, write nothing.
    RETURN QUERY
    SELECT t.id, t.type, t.client_id, t.grant_id, t.issued_at, t.expires_at,
           COALESCE(t.revoked_at, g.revoked_at), t.scope, t.sub, false
    FROM revokit_tokens t
    LEFT JOIN revokit_grants g ON g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL
    WHERE t.id = ANY(p_ids);
    RETURN;
  END IF;
  RETURN QUERY
  WITH asked AS (
    -- A token asked for twice is judged by the conditions of the first asking.
    SELECT DISTINCT ON (a.id) a.id, a.client_id, a.types, a.at
    FROM unnest(p_ids, p_client_ids, p_types, p_ats) WITH ORDINALITY AS a(id, client_id, types, at, n)
    ORDER BY a.id, a.n
  ), done AS (
    UPDATE revokit_tokens t SET revoked_at = asked.at
    FROM asked
    WHERE t.id = asked.id
      AND t.id IN (SELECT l.id FROM revokit_tokens l
                   WHERE l.id = ANY(p_ids) AND l.revoked_at IS NULL ORDER BY l.id FOR UPDATE)
      AND t.revoked_at IS NULL
      AND t.client_id = asked.client_id
      AND t.type = ANY(string_to_array(asked.types, ' '))
      AND (t.expires_at IS NULL OR t.expires_at > asked.at)
      AND NOT EXISTS (SELECT 1 FROM revokit_grants g
                      WHERE g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL)
    RETURNING t.id
  )
  SELECT t.id, t.type, t.client_id, t.grant_id, t.issued_at, t.expires_at,
         COALESCE(t.revoked_at, g.revoked_at), t.scope, t.sub,
         EXISTS (SELECT 1 FROM done d WHERE d.id = t.id)
  FROM revokit_tokens t
  LEFT JOIN revokit_grants g ON g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL
  WHERE t.id = ANY(p_ids);
END
$$;
`,
  },
  {
    // Version 5 (issue #5): a grant revoked without counting its tokens. The revocation
    // endpoint never reads the count, and counting reads every token row of the grant:
    // rows issued over the grant's lifetime, one heap page each. Uncounted, a cascade
    // writes the marker and reads no token. A function only, as in version 4: the
    // two-argument form keeps its meaning for servers of version 4 and now calls this one.
    //
    // And revokit_revoke_tokens_if without its row locks in id order: the UPDATE locks the
    // rows it revokes, in the plan's order. With the ordered SELECT … FOR UPDATE, which
    // locks every row (a WAL record each) before the update rewrites it, the function took
    // ~85 µs of server CPU a token; without, ~55 (batches of 20, measured). It only prevented
    // deadlocks with another writer revoking the same tokens at the same moment; those are
    // now detected by PostgreSQL, which rolls one transaction back, and the store runs it
    // again. The grants' shared advisory locks are still taken first, in order.
    version: 5,
    sql: `
CREATE FUNCTION revokit_revoke_grant(p_grant_id text, p_at bigint, p_count boolean)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  previous bigint;
  n integer;
BEGIN
  PERFORM pg_advisory_xact_lock(7009, hashtext(p_grant_id));
  -- Usually one statement; the loop covers a grant row that does not exist yet or that a
  -- purge deleted in between (purge deletes only grants without tokens).
  LOOP
    SELECT revoked_at INTO previous FROM revokit_grants
    WHERE grant_id = p_grant_id FOR UPDATE;
    EXIT WHEN FOUND;
    INSERT INTO revokit_grants (grant_id) VALUES (p_grant_id) ON CONFLICT (grant_id) DO NOTHING;
  END LOOP;
  IF previous IS NOT NULL THEN
    RETURN 0;
  END IF;
  UPDATE revokit_grants SET revoked_at = p_at WHERE grant_id = p_grant_id;
  IF NOT p_count THEN
    RETURN 1;
  END IF;
  SELECT count(*) INTO n FROM revokit_tokens
  WHERE grant_id = p_grant_id AND revoked_at IS NULL;
  RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION revokit_revoke_grant(p_grant_id text, p_at bigint) RETURNS integer
LANGUAGE sql VOLATILE AS $$ SELECT revokit_revoke_grant(p_grant_id, p_at, true) $$;

CREATE OR REPLACE FUNCTION revokit_revoke_tokens_if(
  p_ids text[], p_client_ids text[], p_types text[], p_ats bigint[]
) RETURNS TABLE (
  id text, type text, client_id text, grant_id text, issued_at bigint, expires_at bigint,
  revoked_at bigint, scope text, sub text, revoked boolean
)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  live integer;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(7009, k)
  FROM (SELECT DISTINCT hashtext(t.grant_id) AS k FROM revokit_tokens t
        WHERE t.id = ANY(p_ids) AND t.revoked_at IS NULL ORDER BY 1) keys;
  GET DIAGNOSTICS live = ROW_COUNT;
  IF live = 0 THEN
    -- Nothing unrevoked asked for (unknown tokens, mostly): read, write nothing.
    RETURN QUERY
    SELECT t.id, t.type, t.client_id, t.grant_id, t.issued_at, t.expires_at,
           COALESCE(t.revoked_at, g.revoked_at), t.scope, t.sub, false
    FROM revokit_tokens t
    LEFT JOIN revokit_grants g ON g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL
    WHERE t.id = ANY(p_ids);
    RETURN;
  END IF;
  RETURN QUERY
  WITH asked AS (
    -- A token asked for twice is judged by the conditions of the first asking.
    SELECT DISTINCT ON (a.id) a.id, a.client_id, a.types, a.at
    FROM unnest(p_ids, p_client_ids, p_types, p_ats) WITH ORDINALITY AS a(id, client_id, types, at, n)
    ORDER BY a.id, a.n
  ), done AS (
    UPDATE revokit_tokens t SET revoked_at = asked.at
    FROM asked
    WHERE t.id = asked.id
      AND t.revoked_at IS NULL
      AND t.client_id = asked.client_id
      AND t.type = ANY(string_to_array(asked.types, ' '))
      AND (t.expires_at IS NULL OR t.expires_at > asked.at)
      AND NOT EXISTS (SELECT 1 FROM revokit_grants g
                      WHERE g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL)
    RETURNING t.id
  )
  SELECT t.id, t.type, t.client_id, t.grant_id, t.issued_at, t.expires_at,
         COALESCE(t.revoked_at, g.revoked_at), t.scope, t.sub,
         EXISTS (SELECT 1 FROM done d WHERE d.id = t.id)
  FROM revokit_tokens t
  LEFT JOIN revokit_grants g ON g.grant_id = t.grant_id AND g.revoked_at IS NOT NULL
  WHERE t.id = ANY(p_ids);
END
$$;
`,
  },
  {
    // Version 6: the jtis of accepted client assertions (RFC 7523 §3), so that every
    // server on the database accepts an assertion once between them. A table only: a v5
    // server beside it never reads it.
    version: 6,
    sql: `
CREATE TABLE revokit_assertions (
  client_id text NOT NULL,
  jti text NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX revokit_assertions_expires_at ON revokit_assertions (expires_at);
`,
  },
  {
    // Version 7: the ledger of the ids a seed stored (saveTokensOnce). purge never empties
    // it, so a seed applied at every start cannot bring back a token purge deleted. A table
    // only: a v6 server beside it never reads it.
    version: 7,
    sql: `
CREATE TABLE revokit_seeded (
  id text PRIMARY KEY
);
`,
  },
];

/**
 * The Lua scripts of the Redis store. Each runs atomically on the server: no other command
 * runs between its first and last write, so a cascade is never seen half-done, and a
 * client that disconnects mid-call leaves either all of it or none.
 *
 * Keys, under the store's prefix P:
 * - `P t:<digest>`: a token, a hash of `ty` type, `c` client, `g` grant, `i` issued,
 *   `e` expires, `r` revoked, `s` scope, `u` subject; expires with the token (below).
 * - `P g:<grant>`, `P c:<client>`, `P u:<sub>`: sets of the digests of a grant, client,
 *   subject, living as long as their longest-lived member.
 * - `P gr:<grant>`: the time a grant was revoked, so tokens saved into it later are born
 *   revoked.
 * - `P cl:<client>`: a client, a hash of its RFC 7591 fields; `jwks` is the JSON text of
 *   its JWK Set (schema version 2).
 * - `P schema`: the schema version.
 * - `P seeded`: the set of token ids seeds stored (`saveTokensOnce`), which purge keeps.
 *
 * A token's key expires `retention` seconds after its end: its expiry, or for a token that
 * never expires, its revocation. An unrevoked token without expiry has no TTL.
 */

/**
 * A token's fields in the order `tokenFromFields` reads them: type, client, grant, issued,
 * expires, revoked, scope, subject (false where absent).
 */
const TOKEN_FIELDS = `
local function token_fields(key)
  return redis.call('HMGET', key, 'ty', 'c', 'g', 'i', 'e', 'r', 's', 'u')
end
`;

/** Shared helpers, prepended to the scripts that need them. */
const HELPERS = `${TOKEN_FIELDS}
local function index(set, id, ends)
  local fresh = redis.call('EXISTS', set) == 0
  redis.call('SADD', set, id)
  if ends == nil then
    redis.call('PERSIST', set)
  elseif fresh then
    redis.call('EXPIREAT', set, ends)
  else
    redis.call('EXPIREAT', set, ends, 'GT')
  end
end

-- Marks a token known to exist unrevoked; without an expiry, it ends at its revocation.
local function mark(key, at, retention, expires)
  redis.call('HSET', key, 'r', at)
  if not expires then redis.call('EXPIREAT', key, tonumber(at) + retention) end
end

local function revoke(key, at, retention)
  local t = redis.call('HMGET', key, 'ty', 'r', 'e')
  if not t[1] then return -1 end
  if t[2] then return 0 end
  mark(key, at, retention, t[3])
  return 1
end
`;

/**
 * ARGV: prefix, retention, then per token id, type, client, grant, iat, exp, rev, scope,
 * sub. Scope and sub are '' where absent and '=' before the value where present, so an
 * empty scope or subject is kept as the other stores keep it.
 */
export const SAVE_TOKENS = saveTokens('');

/**
 * {@link SAVE_TOKENS} for a seed: a token whose id is in the ledger set `P seeded` is
 * skipped, and every id asked for joins it. purge never touches the set.
 */
export const SAVE_TOKENS_ONCE = saveTokens(`redis.call('SADD', p .. 'seeded', id) == 1 and `);

function saveTokens(ledger: string): string {
  return `${HELPERS}
local p = ARGV[1]
local retention = tonumber(ARGV[2])
local now = tonumber(redis.call('TIME')[1])
local inserted = 0
for i = 3, #ARGV, 9 do
  local id, ty, c, g, iat = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local exp, rev, scope, sub = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
  local key = p .. 't:' .. id
  if ${ledger}redis.call('EXISTS', key) == 0 then
    local marker = p .. 'gr:' .. g
    if rev == '' then rev = redis.call('GET', marker) or '' end
    local ends = nil
    if exp ~= '' then
      ends = tonumber(exp) + retention
    elseif rev ~= '' then
      ends = tonumber(rev) + retention
    end
    -- A token already past its retention would be deleted at once: it is not stored.
    if ends == nil or ends > now then
      local f = {'ty', ty, 'c', c, 'g', g, 'i', iat}
      if exp ~= '' then f[#f + 1] = 'e'; f[#f + 1] = exp end
      if rev ~= '' then f[#f + 1] = 'r'; f[#f + 1] = rev end
      if scope ~= '' then f[#f + 1] = 's'; f[#f + 1] = string.sub(scope, 2) end
      if sub ~= '' then f[#f + 1] = 'u'; f[#f + 1] = string.sub(sub, 2) end
      redis.call('HSET', key, unpack(f))
      if ends ~= nil then redis.call('EXPIREAT', key, ends) end
      index(p .. 'g:' .. g, id, ends)
      index(p .. 'c:' .. c, id, ends)
      if sub ~= '' then index(p .. 'u:' .. string.sub(sub, 2), id, ends) end
      -- The grant's revocation must outlive every token born revoked by it.
      if ends ~= nil and redis.call('EXISTS', marker) == 1 then
        redis.call('EXPIREAT', marker, ends, 'GT')
      end
      inserted = inserted + 1
    end
  end
end
return inserted
`;
}

/** KEYS: token. ARGV: at, retention. */
/**
 * KEYS: token hashes. The fields of each as HMGET gives them, type, client, grant, issued,
 * expires, revoked, scope, subject (nil where absent): the lookups of one turn of the
 * event loop in one command.
 */
export const FIND_TOKENS = `${TOKEN_FIELDS}
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = token_fields(key)
end
return out
`;

/**
 * KEYS: token hashes. ARGV: retention, then the revocation time of each key. The
 * revocations of one turn of the event loop, in one script: 1 for each newly revoked.
 */
export const REVOKE_TOKENS = `${HELPERS}
local retention = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local n = revoke(key, ARGV[i + 1], retention)
  if n < 0 then n = 0 end
  out[i] = n
end
return out
`;

/**
 * KEYS: token hashes. ARGV: retention, then for each key its client, its types (separated
 * by spaces) and its revocation time. Revokes each token that is active then, of that
 * client and of one of those types; answers each token's fields as FIND_TOKENS does, as
 * they were before, followed by 1 if this script revoked it, else 0.
 */
export const REVOKE_TOKENS_IF = `${HELPERS}
local retention = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local c, types, at = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  local t = token_fields(key)
  local n = 0
  if t[1] and not t[6] and t[2] == c
      and string.find(' ' .. types .. ' ', ' ' .. t[1] .. ' ', 1, true)
      and (not t[5] or tonumber(t[5]) > tonumber(at)) then
    -- mark(), not revoke(): the fields read above already say the token exists and is
    -- unrevoked, so it is not read a second time (issue #5).
    mark(key, at, retention, t[5])
    n = 1
  end
  t[9] = n
  out[i] = t
end
return out
`;

/** KEYS: grant set, grant marker. ARGV: prefix, at, retention. */
export const REVOKE_GRANT = `${HELPERS}
local p, at, retention = ARGV[1], ARGV[2], tonumber(ARGV[3])
local fresh = redis.call('SET', KEYS[2], at, 'NX')
local now = tonumber(redis.call('TIME')[1])
-- The marker lives as long as the grant's longest-lived token, and at least the retention
-- window. Read from the tokens, not the grant's set: a set holding a token without expiry
-- has no TTL, though every token has one once revoked.
local ends = tonumber(at) + retention
local count = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = p .. 't:' .. id
  local n = revoke(key, at, retention)
  if n < 0 then
    redis.call('SREM', KEYS[1], id)
  else
    count = count + n
    local ttl = redis.call('TTL', key)
    if ttl > 0 and now + ttl > ends then ends = now + ttl end
  end
end
if fresh then
  redis.call('EXPIREAT', KEYS[2], ends)
else
  redis.call('EXPIREAT', KEYS[2], ends, 'GT')
end
-- Every token of the grant now ends, so its set can too.
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIREAT', KEYS[1], ends) end
return count
`;

/**
 * KEYS: the index set to walk. ARGV: prefix, at, retention, client, sub, grant: each ''
 * for any, or '=' before the value, so a filter on an empty value is not read as any.
 */
export const REVOKE_WHERE = `${HELPERS}
local p, at, retention = ARGV[1], ARGV[2], tonumber(ARGV[3])
local function wanted(arg)
  if arg == '' then return nil end
  return string.sub(arg, 2)
end
local c, u, g = wanted(ARGV[4]), wanted(ARGV[5]), wanted(ARGV[6])
local count = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = p .. 't:' .. id
  local t = redis.call('HMGET', key, 'c', 'u', 'g')
  if not t[1] then
    redis.call('SREM', KEYS[1], id)
  elseif (not c or t[1] == c) and (not u or t[2] == u) and (not g or t[3] == g) then
    count = count + revoke(key, at, retention)
  end
end
return count
`;

/** ARGV: prefix, cutoff, then token keys. Deletes those whose end is before the cutoff. */
export const PURGE_TOKENS = `
local p, cutoff = ARGV[1], tonumber(ARGV[2])
local deleted = 0
for i = 3, #ARGV do
  local key = ARGV[i]
  local t = redis.call('HMGET', key, 'e', 'r', 'g', 'c', 'u')
  local ends = tonumber(t[1] or t[2] or '')
  if ends ~= nil and ends < cutoff then
    local id = string.sub(key, #p + 3)
    redis.call('DEL', key)
    redis.call('SREM', p .. 'g:' .. t[3], id)
    redis.call('SREM', p .. 'c:' .. t[4], id)
    if t[5] then redis.call('SREM', p .. 'u:' .. t[5], id) end
    deleted = deleted + 1
  end
end
return deleted
`;

/**
 * KEYS: an index set. ARGV: prefix, cursor, count. One SSCAN step that drops members whose
 * token has expired away; returns the next cursor ('0' when done).
 */
export const SWEEP_SET = `
local p = ARGV[1]
local step = redis.call('SSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[3])
for _, id in ipairs(step[2]) do
  if redis.call('EXISTS', p .. 't:' .. id) == 0 then redis.call('SREM', KEYS[1], id) end
end
return step[1]
`;

/**
 * KEYS: client. ARGV: field, value pairs of the client. Returns 0 unchanged, 1 inserted,
 * 2 updated.
 */
export const SAVE_CLIENT = `
local current = redis.call('HGETALL', KEYS[1])
if #current == 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV))
  return 1
end
local same = #current == #ARGV
if same then
  local fields = {}
  for i = 1, #current, 2 do fields[current[i]] = current[i + 1] end
  for i = 1, #ARGV, 2 do
    if fields[ARGV[i]] ~= ARGV[i + 1] then same = false end
  end
end
if same then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV))
return 2
`;

/**
 * KEYS: the schema key. ARGV: the version this revokit writes. Raises the recorded version
 * to it, never lowers it, in one step, so servers starting together (or a newer revokit
 * starting beside an older one) cannot move it backwards. Returns the version found.
 */
export const MIGRATE = `
local found = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if found < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return found
`;

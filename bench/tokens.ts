/**
 * The token population of the benchmark, computed the same way in the load generator
 * (which sends token values) and in the server under test (which stores their digests).
 * Nothing random: a token is named by its index, so no list of values crosses processes.
 */
import { createHash } from 'node:crypto';
import type { StoredToken } from '../src/stores/token-store.js';

/** The one client every request authenticates as, with `client_secret_basic`. */
export const CLIENT_ID = 'bench-client';
export const CLIENT_SECRET = 'bench-client-secret-0123456789abcdefghijklmnopqrstuv';
export const AUTHORIZATION = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;

/** 43 characters, the length of a base64url 256-bit token, as real tokens are. */
const FILLER = 'Qx7fZk2LmP9sVt4wYb6cDe8gHj1nRu3oXa5zKq0';

/** The value of population token `index`: 43 characters, distinct per index. */
export function tokenValue(index: number): string {
  const head = index.toString(36).padStart(10, '0');
  return `${head}${FILLER}`.slice(0, 43);
}

/** Tokens of scenario 4, revoked when seeded: a namespace of their own. */
export function revokedValue(index: number): string {
  return `rv${index.toString(36).padStart(8, '0')}${FILLER}`.slice(0, 43);
}

/** Tokens of a cascade grant: token 0 is the refresh token, the rest access tokens. */
export function cascadeValue(grant: string, index: number): string {
  return `cg${grant}-${index.toString(36).padStart(6, '0')}${FILLER}`.slice(0, 43);
}

/** A token value nobody stored: scenario 1. */
export const UNKNOWN_TOKEN = `zz-unknown-${FILLER}`.slice(0, 43);

export function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** One day from now: every seeded token expires then, so `purge` can clear a population. */
export function expiry(now: number): number {
  return now + 86_400;
}

/** The stored form of population token `index`. */
export function populationToken(
  index: number,
  now: number,
  id: string = digest(tokenValue(index)),
): StoredToken {
  return {
    id,
    type: 'access_token',
    clientId: CLIENT_ID,
    grantId: `grant-${index}`,
    sub: `user-${index % 100_000}`,
    scope: 'profile email',
    issuedAt: now,
    expiresAt: expiry(now),
  };
}

/** The stored form of scenario-4 token `index`, already revoked. */
export function revokedToken(index: number, now: number): StoredToken {
  return {
    id: digest(revokedValue(index)),
    type: 'access_token',
    clientId: CLIENT_ID,
    grantId: `revoked-${index}`,
    sub: 'user-revoked',
    scope: 'profile',
    issuedAt: now - 60,
    expiresAt: expiry(now),
    revokedAt: now - 30,
  };
}

/** The tokens of one cascade grant: a refresh token and `size - 1` access tokens. */
export function cascadeTokens(grant: string, size: number, now: number): StoredToken[] {
  const tokens: StoredToken[] = [];
  for (let i = 0; i < size; i++) {
    tokens.push({
      id: digest(cascadeValue(grant, i)),
      type: i === 0 ? 'refresh_token' : 'access_token',
      clientId: CLIENT_ID,
      grantId: `cascade-${grant}`,
      sub: 'user-cascade',
      scope: 'profile',
      issuedAt: now,
      expiresAt: expiry(now),
    });
  }
  return tokens;
}

/** A form body: `token=...` plus an optional hint, URL-encoding the value. */
export function formBody(token: string, hint?: string): string {
  const base = `token=${encodeURIComponent(token)}`;
  return hint ? `${base}&token_type_hint=${hint}` : base;
}

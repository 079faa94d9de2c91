import type { RevokeFilter } from '../stores/token-store.js';
import { CliError } from './cli-error.js';
import { type OpenedStore, openStore } from './open-store.js';

/** Where a command prints its one-line result. */
export type Print = (line: string) => void;

/**
 * Operator commands may walk many tokens in one call (one Redis script, one PostgreSQL
 * `UPDATE`): give them time, rather than the limits sized for `revokit serve`'s requests.
 */
const ADMIN = { commandTimeout: 10 * 60 * 1000, statementTimeout: 10 * 60 * 1000 } as const;

async function withStore<T>(
  url: string,
  work: (store: OpenedStore) => Promise<T>,
  migrate = true,
): Promise<T> {
  const store = await openStore(url, { ...ADMIN, migrate });
  try {
    return await work(store);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`store ${store.description}: ${(error as Error)?.message ?? error}`, 1);
  } finally {
    await store.close().catch(() => {});
  }
}

const plural = (n: number) => `${n} ${n === 1 ? 'token' : 'tokens'}`;

/**
 * `revokit migrate`: brings the store's schema to the latest version (opening the store
 * does it), then exits.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.2.1
 */
export async function migrateCommand(options: { store: string }, print: Print): Promise<void> {
  await withStore(
    options.store,
    async (store) => {
      const result = await store.tokens.migrate?.();
      if (!result) print(`migrated: ${store.description} is up to date`);
      else if (result.from === result.to) {
        print(`migrated: ${store.description} was already at schema version ${result.to}`);
      } else {
        print(`migrated: ${store.description} from schema version ${result.from} to ${result.to}`);
      }
    },
    false,
  );
}

/**
 * `revokit purge`: deletes tokens that ended more than `retention` seconds ago, in batches.
 * Revoked tokens are kept until then, so a replayed one is still recognised.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14
 */
export async function purgeCommand(
  options: { store: string; retention: number; batchSize: number },
  print: Print,
): Promise<number> {
  return withStore(options.store, async (store) => {
    if (!store.tokens.purge) throw new CliError(`store ${store.description} cannot purge`, 1);
    const expiredBefore = Math.floor(Date.now() / 1000) - options.retention;
    const deleted = await store.tokens.purge({ expiredBefore, batchSize: options.batchSize });
    print(
      `purged ${plural(deleted)} that ended before ${new Date(expiredBefore * 1000).toISOString()}`,
    );
    return deleted;
  });
}

/**
 * `revokit revoke`: bulk revocation for operators, on a password change, a compromised or
 * a deleted client. Prints how many tokens were newly revoked.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2.1
 */
export async function revokeCommand(
  options: { store: string } & RevokeFilter,
  print: Print,
): Promise<number> {
  const filter: RevokeFilter = {
    clientId: options.clientId,
    sub: options.sub,
    grantId: options.grantId,
  };
  for (const [flag, value] of [
    ['--client', filter.clientId],
    ['--subject', filter.sub],
    ['--grant', filter.grantId],
  ] as const) {
    if (value === '') throw new CliError(`${flag} must not be empty`);
  }
  if (filter.clientId === undefined && filter.sub === undefined && filter.grantId === undefined) {
    throw new CliError('revoke needs --client ID, --subject SUB or --grant ID');
  }
  return withStore(options.store, async (store) => {
    if (!store.tokens.revokeWhere) {
      throw new CliError(`store ${store.description} cannot revoke in bulk`, 1);
    }
    const count = await store.tokens.revokeWhere(filter, Math.floor(Date.now() / 1000));
    print(`revoked ${plural(count)}`);
    return count;
  });
}

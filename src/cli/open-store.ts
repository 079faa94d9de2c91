import { MemoryTokenStore } from '../stores/memory/memory-token-store.js';
import type { TokenStore } from '../stores/token-store.js';
import { CliError } from './cli-error.js';

/** A store opened from a `--store` URL, with what it takes to close it. */
export interface OpenedStore {
  readonly tokens: TokenStore;
  /** A description for logs, without credentials. */
  readonly description: string;
  close(): Promise<void>;
}

/**
 * Opens the token store a `--store` URL names: `memory:`.
 */
export async function openStore(url: string): Promise<OpenedStore> {
  const scheme = url.slice(0, url.indexOf(':') + 1);
  switch (scheme) {
    case 'memory:':
      return { tokens: new MemoryTokenStore(), description: 'memory', close: async () => {} };
    default:
      throw new CliError(`--store ${JSON.stringify(url)}: expected memory:`);
  }
}

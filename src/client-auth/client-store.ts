import { type Client, type ClientMetadata, clientFromMetadata } from './client.js';

/**
 * Where the authorization server finds its clients. Implement it over your own client
 * table; {@link MemoryClientStore} serves tests, examples and seed files.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2
 */
export interface ClientStore {
  /** The client with this id, or `undefined`. A thrown error answers 503. */
  getClient(clientId: string): Promise<Client | undefined> | Client | undefined;
}

/** What saving a client did. */
export type SaveClientResult = 'inserted' | 'unchanged' | 'updated';

/**
 * A {@link ClientStore} that can also be written: what `revokit serve --seed` loads clients
 * into. Saving the same client twice changes nothing; a changed client is `updated`, and
 * the caller says so.
 */
export interface WritableClientStore extends ClientStore {
  saveClient(client: Client): Promise<SaveClientResult> | SaveClientResult;
}

/**
 * Compares two clients field by field (the secret by digest).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export function sameClient(a: Client, b: Client): boolean {
  return (
    a.clientId === b.clientId &&
    // An empty string reads as absent wherever revokit reads these (authMethodFor), and
    // the stores keep it as NULL: compared the same way, saving it again is `unchanged`.
    (a.clientSecretDigest || undefined) === (b.clientSecretDigest || undefined) &&
    (a.clientSecretExpiresAt ?? 0) === (b.clientSecretExpiresAt ?? 0) &&
    a.tokenEndpointAuthMethod === b.tokenEndpointAuthMethod &&
    (a.revocationEndpointAuthMethod || undefined) ===
      (b.revocationEndpointAuthMethod || undefined) &&
    (a.introspectionEndpointAuthMethod || undefined) ===
      (b.introspectionEndpointAuthMethod || undefined) &&
    (a.resourceServer ?? false) === (b.resourceServer ?? false) &&
    JSON.stringify(a.jwks ?? null) === JSON.stringify(b.jwks ?? null)
  );
}

/**
 * A {@link ClientStore} in memory.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export class MemoryClientStore implements WritableClientStore {
  readonly #clients = new Map<string, Client>();

  /** Builds a store from RFC 7591 metadata, digesting every secret. */
  static async fromMetadata(metadata: Iterable<ClientMetadata>): Promise<MemoryClientStore> {
    const store = new MemoryClientStore();
    for (const entry of metadata) store.set(await clientFromMetadata(entry));
    return store;
  }

  constructor(clients: Iterable<Client> = []) {
    for (const client of clients) this.set(client);
  }

  /** Adds or replaces a client. */
  set(client: Client): void {
    this.#clients.set(client.clientId, client);
  }

  saveClient(client: Client): SaveClientResult {
    const existing = this.#clients.get(client.clientId);
    if (existing && sameClient(existing, client)) return 'unchanged';
    this.set(client);
    return existing ? 'updated' : 'inserted';
  }

  getClient(clientId: string): Client | undefined {
    return this.#clients.get(clientId);
  }

  /** How many clients are registered. */
  get size(): number {
    return this.#clients.size;
  }
}

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

/**
 * A {@link ClientStore} in memory.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export class MemoryClientStore implements ClientStore {
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

  getClient(clientId: string): Client | undefined {
    return this.#clients.get(clientId);
  }

  /** How many clients are registered. */
  get size(): number {
    return this.#clients.size;
  }
}

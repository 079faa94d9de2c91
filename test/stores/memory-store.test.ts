import { MemoryClientStore } from '../../src/client-auth/client-store.js';
import { MemoryTokenStore } from '../../src/stores/memory/memory-token-store.js';
import { runTokenStoreSuite } from '../support/token-store-suite.js';

// Issue #3 "One conformance suite, every store": the memory store, for tests and examples.
runTokenStoreSuite('memory', {
  async create() {
    return {
      tokens: new MemoryTokenStore(),
      clients: new MemoryClientStore(),
      close: async () => {},
    };
  },
});

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toNodeHandler } from '../../src/adapters/node.js';
import { SqliteTokenStore } from '../../src/stores/sqlite/sqlite-token-store.js';
import { runEndpointSuite } from '../support/endpoint-suite.js';
import { listenOnLoopback } from '../support/listen.js';
import { tempDir } from '../support/temp-dir.js';

const dir = tempDir('revokit-endpoint-sqlite-');
let n = 0;

// Issue #3 "The shortcut": the endpoint suite of issue #2, unchanged, with the SQLite store
// behind createRevocationEndpoint(store), over node:http.
runEndpointSuite(
  'SQLite store behind node:http',
  (server) => listenOnLoopback(toNodeHandler(server)),
  {
    async createStores() {
      const db = new Database(join(dir, `${n++}.db`));
      const store = new SqliteTokenStore(db);
      store.migrate();
      return {
        tokens: store,
        clients: store,
        close: async () => {
          await store.close();
          db.close();
        },
      };
    },
  },
);

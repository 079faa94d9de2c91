import { after, before } from 'node:test';
import pg from 'pg';
import { toNodeHandler } from '../../src/adapters/node.js';
import { PostgresTokenStore } from '../../src/stores/postgres/postgres-token-store.js';
import { runEndpointSuite } from '../support/endpoint-suite.js';
import { listenOnLoopback } from '../support/listen.js';
import { postgresForTests, type Service } from '../support/services.js';

let service: Service;
before(async () => {
  service = await postgresForTests();
});
after(() => service?.destroy());

// Issue #3 "The shortcut": the endpoint suite of issue #2, unchanged, with the PostgreSQL
// store behind createRevocationEndpoint(store), over node:http.
runEndpointSuite(
  'PostgreSQL store behind node:http',
  (server) => listenOnLoopback(toNodeHandler(server)),
  {
    async createStores() {
      const pool = new pg.Pool({ connectionString: service.url, max: 5 });
      pool.on('error', () => {});
      const store = new PostgresTokenStore(pool);
      await store.migrate();
      return { tokens: store, clients: store, close: () => pool.end() };
    },
  },
);

import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { toNodeHandler } from '../../src/adapters/node.js';
import { RedisTokenStore } from '../../src/stores/redis/redis-token-store.js';
import { runEndpointSuite } from '../support/endpoint-suite.js';
import { listenOnLoopback } from '../support/listen.js';
import { redisForTests, type Service } from '../support/services.js';

let service: Service;
before(async () => {
  service = await redisForTests();
});
after(() => service?.destroy());

// Issue #3 "The shortcut": the endpoint suite of issue #2, unchanged, with the Redis store
// behind createRevocationEndpoint(store), over node:http.
runEndpointSuite(
  'Redis store behind node:http',
  (server) => listenOnLoopback(toNodeHandler(server)),
  {
    async createStores() {
      const redis = new Redis(service.url, {
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
      });
      redis.on('error', () => {});
      await redis.connect();
      const store = new RedisTokenStore(redis, {
        prefix: `revokit-${randomBytes(4).toString('hex')}:`,
      });
      await store.migrate();
      return { tokens: store, clients: store, close: async () => void redis.disconnect() };
    },
  },
);

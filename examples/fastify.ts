// revokit on Fastify 5: POST /oauth/revoke and POST /oauth/introspect over the in-memory
// store, loaded from a seed file as `revokit serve --seed` loads it.
//   REVOKIT_SEED=examples/seed.json PORT=8080 npx tsx examples/fastify.ts
import { readFile } from 'node:fs/promises';
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import {
  AuthorizationServer,
  createIntrospectionEndpoint,
  createRevocationEndpoint,
  MemoryClientStore,
  MemoryTokenStore,
} from 'revokit';
import { endpoint } from 'revokit/fastify';
import { parseSeed, seedTokens } from 'revokit/seed';

const seed = parseSeed(
  JSON.parse(await readFile(process.env.REVOKIT_SEED ?? 'examples/seed.json', 'utf8')),
);
const tokens = new MemoryTokenStore();
await tokens.saveTokens(await seedTokens(seed.tokens, Math.floor(Date.now() / 1000)));
const server = new AuthorizationServer({
  clients: await MemoryClientStore.fromMetadata(seed.clients),
});
server.registerEndpoint(createRevocationEndpoint(tokens));
server.registerEndpoint(createIntrospectionEndpoint(tokens, { foreignTokens: 'resource-servers' }));

const app = Fastify();
// For the app's own routes; revokit's plugins read the raw body in their own scope.
await app.register(formbody);
// Each plugin answers every method on its path: others get the contract's 405.
await app.register(endpoint(server, 'revocation', '/oauth/revoke'));
await app.register(endpoint(server, 'introspection', '/oauth/introspect'));

const url = await app.listen({ port: Number(process.env.PORT ?? 8080), host: '127.0.0.1' });
console.log(`listening on ${url}`);

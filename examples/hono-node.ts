// revokit on Hono 4, served by node:http: POST /oauth/revoke and POST /oauth/introspect over
// the in-memory store, loaded from a seed file as `revokit serve --seed` loads it. On Bun,
// Deno or Workers, drop node:http and `export default app` instead.
//   REVOKIT_SEED=examples/seed.json PORT=8080 npx tsx examples/hono-node.ts
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import {
  AuthorizationServer,
  createIntrospectionEndpoint,
  createRevocationEndpoint,
  MemoryClientStore,
  MemoryTokenStore,
} from 'revokit';
import { endpoint } from 'revokit/hono';
import { toNodeListener } from 'revokit/node';
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

const app = new Hono();
// `all`, not `post`: any other method gets the contract's 405 with `Allow: POST`.
app.all('/oauth/revoke', endpoint(server, 'revocation'));
app.all('/oauth/introspect', endpoint(server, 'introspection'));

// @hono/node-server's `serve({ fetch: app.fetch, port })` works the same way.
const http = createServer(toNodeListener(app.fetch));
http.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(http.address() as AddressInfo).port}`);
});

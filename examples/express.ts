// revokit on Express 5: POST /oauth/revoke and POST /oauth/introspect over the in-memory
// store, loaded from a seed file as `revokit serve --seed` loads it.
//   REVOKIT_SEED=examples/seed.json PORT=8080 npx tsx examples/express.ts
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  AuthorizationServer,
  createIntrospectionEndpoint,
  createRevocationEndpoint,
  MemoryClientStore,
  MemoryTokenStore,
} from 'revokit';
import { endpoint } from 'revokit/express';
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

const app = express();
// `all`, not `post`: any other method gets the contract's 405 with `Allow: POST`.
app.all('/oauth/revoke', endpoint(server, 'revocation'));
app.all('/oauth/introspect', endpoint(server, 'introspection'));
// Body parsers for the rest of the app come after revokit, which reads the raw body itself.
app.use(express.urlencoded());

const listener = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(listener.address() as AddressInfo).port}`);
});

// revokit on Koa 3: POST /oauth/revoke and POST /oauth/introspect (and RFC 8414 metadata)
// over the in-memory store, loaded from a seed file as `revokit serve --seed` loads it.
//   REVOKIT_SEED=examples/seed.json PORT=8080 npx tsx examples/koa.ts
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import {
  AuthorizationServer,
  createIntrospectionEndpoint,
  createRevocationEndpoint,
  MemoryClientStore,
  MemoryTokenStore,
} from 'revokit';
import { mount } from 'revokit/koa';
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

const app = new Koa();
app.use(bodyParser()); // for the app's own routes
// revokit's paths, every method (others get the contract's 405); the parser skips them.
mount(app, server);

const listener = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(listener.address() as AddressInfo).port}`);
});

// revokit on plain node:http: POST /oauth/revoke and POST /oauth/introspect (and RFC 8414
// metadata) over the in-memory store, loaded from a seed file as `revokit serve --seed`
// loads it. `revokit serve` runs `createNodeServer`, which also answers in JSON what Node
// would answer itself (no Host, CONNECT, HTTP/2.0): use it for a public server.
//   REVOKIT_SEED=examples/seed.json PORT=8080 npx tsx examples/node-http.ts
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AuthorizationServer,
  createIntrospectionEndpoint,
  createRevocationEndpoint,
  MemoryClientStore,
  MemoryTokenStore,
} from 'revokit';
import { toNodeHandler } from 'revokit/node';
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

// Every endpoint at its path; `toNodeHandler(server, { endpoint: 'revocation' })` for one.
const http = createServer(toNodeHandler(server));
http.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(http.address() as AddressInfo).port}`);
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '../src/adapters/node.js';
import { runEndpointSuite } from './support/endpoint-suite.js';

// Issue #2: the whole endpoint suite over real HTTP through the node:http adapter.
runEndpointSuite('node:http (toNodeHandler)', async (server) => {
  const http = createServer(toNodeHandler(server));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
});

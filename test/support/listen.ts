import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Mounted } from './endpoint-suite.js';

/** Serves a `node:http` listener on 127.0.0.1, on a free port. */
export async function listenOnLoopback(listener: RequestListener): Promise<Mounted> {
  const http = createServer(listener);
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
}

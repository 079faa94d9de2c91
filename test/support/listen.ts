import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Mounted } from './endpoint-suite.js';

/** Listens on a free loopback port; `close` also ends keep-alive connections. */
export async function listen(http: Server): Promise<Mounted> {
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

/** Serves a `node:http` listener on 127.0.0.1, on a free port. */
export function listenOnLoopback(listener: RequestListener): Promise<Mounted> {
  return listen(createServer(listener));
}

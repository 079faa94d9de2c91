import { Readable } from 'node:stream';
import { runEndpointSuite } from './support/endpoint-suite.js';
import { listenOnLoopback } from './support/listen.js';

// Issue #2 and #4: the endpoint suite through the Fetch core alone: each node request is
// turned into a Fetch Request and answered by server.fetch, as Bun, Deno or Workers would.
runEndpointSuite(
  'Fetch (server.fetch)',
  (server) =>
    listenOnLoopback(async (req, res) => {
      const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      }
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers,
        body: hasBody ? (Readable.toWeb(req) as ReadableStream) : undefined,
        duplex: 'half',
      } as RequestInit);
      const response = await server.fetch(request);
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    }),
  { propertyRuns: 300 },
);

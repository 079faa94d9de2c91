import { toNodeHandler } from '../src/adapters/node.js';
import { runEndpointSuite } from './support/endpoint-suite.js';
import { listenOnLoopback } from './support/listen.js';

// Issue #2: the whole endpoint suite over real HTTP through the node:http adapter.
runEndpointSuite('node:http (toNodeHandler)', (server) => listenOnLoopback(toNodeHandler(server)));

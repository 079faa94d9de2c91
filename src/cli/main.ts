#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { CliError } from './cli-error.js';
import { createLogger } from './logger.js';
import { serve } from './serve.js';

const USAGE = `Usage: revokit <command> [options]

Commands:
  serve      Serve POST /oauth/revoke, POST /oauth/introspect and
             GET /.well-known/oauth-authorization-server

Options of serve:
  --host HOST                 address to listen on (default 127.0.0.1)
  --port PORT                 port to listen on (default 8080; 0 picks a free one)
  --seed FILE                 JSON file of clients and tokens to load at start
  --store URL                 token store: memory: (default memory:)
  --issuer URL                RFC 8414 issuer (default http://HOST:PORT)
  --cors-origin ORIGIN        allow browser calls from ORIGIN (repeatable)
  --foreign-token POLICY      refuse (400 invalid_grant, default) or ignore (200)
  --revoke-refresh-with-access
                              revoking an access token revokes its whole grant
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'serve') throw new CliError(`unknown command "${command}"\n\n${USAGE}`);

  let values: ReturnType<typeof parseServeArgs>;
  try {
    values = parseServeArgs(rest);
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--port must be a whole number from 0 to 65535, not "${values.port}"`);
  }
  const foreignToken = values['foreign-token'];
  if (foreignToken !== 'refuse' && foreignToken !== 'ignore') {
    throw new CliError(`--foreign-token must be refuse or ignore, not "${foreignToken}"`);
  }

  const logger = createLogger();
  const running = await serve(
    {
      host: values.host,
      port,
      seed: values.seed,
      store: values.store,
      issuer: values.issuer,
      corsOrigins: values['cors-origin'] ?? [],
      foreignToken,
      revokeRefreshWithAccess: values['revoke-refresh-with-access'] ?? false,
    },
    logger,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info('shutting down', { signal });
      running.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

function parseServeArgs(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8080' },
      seed: { type: 'string' },
      store: { type: 'string', default: 'memory:' },
      issuer: { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      'foreign-token': { type: 'string', default: 'refuse' },
      'revoke-refresh-with-access': { type: 'boolean' },
    },
  }).values;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof CliError) {
      process.stderr.write(`revokit: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(
        `revokit: unexpected failure: ${(error as Error)?.message ?? String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);

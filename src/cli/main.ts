#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { originProblem } from '../server/cors.js';
import { issuerProblem } from '../server/issuer.js';
import { CliError } from './cli-error.js';
import { createLogger } from './logger.js';
import { DEFAULT_STORE, DEFAULT_STORE_TIMEOUT, redactText } from './open-store.js';
import { MAX_STORE_TIMEOUT, MIN_STORE_TIMEOUT, serve } from './serve.js';
import { migrateCommand, purgeCommand, revokeCommand } from './store-commands.js';

const USAGE = `Usage: revokit <command> [options]
       revokit <command> --help
       revokit --version

Commands:
  serve      Serve POST /oauth/revoke, POST /oauth/introspect and
             GET /.well-known/oauth-authorization-server
  migrate    Bring the store's schema up to date, then exit
  purge      Delete tokens that ended (expired, or revoked if they never expire)
             more than --retention seconds ago, in bounded batches
  revoke     Revoke every token of a client, a subject or a grant, and print
             how many were revoked

Store URLs (--store, every command):
  sqlite:PATH                 a SQLite file (default ${DEFAULT_STORE})
  postgres://USER:PASSWORD@HOST:PORT/DATABASE
  redis://[:PASSWORD@]HOST:PORT[/DB]
  memory:                     this process only, lost on exit: not for production

Options of serve:
  --host HOST                 address to listen on (default 127.0.0.1)
  --port PORT                 port to listen on (default 8080; 0 picks a free one)
  --seed FILE                 JSON file of clients and tokens to load at start
                              (idempotent: a token is stored once, ever, even
                              once purged; nothing is un-revoked)
  --store URL                 token and client store (default ${DEFAULT_STORE})
  --issuer URL                RFC 8414 issuer (default http://HOST:PORT)
  --cors-origin ORIGIN        allow browser calls from ORIGIN (repeatable)
  --foreign-token POLICY      refuse (400 invalid_grant, default) or ignore (200)
  --revoke-refresh-with-access
                              revoking an access token revokes its whole grant
  --public-introspection POLICY
                              refuse (401 invalid_client, default) or own-tokens
                              (a public client introspects its own tokens only)
  --retention SECONDS         redis: keep tokens this long after they end
                              (default 604800, 7 days)
  --store-timeout MS          answer 503 when the store has not answered in MS
                              (default 5000, from 2000 to 60000); the store's
                              own limits are set inside it

Options of migrate:
  --store URL

Options of purge:
  --store URL
  --retention SECONDS         keep tokens this long after they end (default 604800)
  --batch-size N              largest number of tokens deleted at once (default 1000)

Options of revoke (at least one; given together, a token must match them all):
  --store URL
  --client ID                 every token issued to this client
  --subject SUB               every token of this resource owner
  --grant ID                  every token of this grant
`;

/** One command's help: its synopsis, its options and the store URLs. */
function commandUsage(command: string): string {
  const options = new RegExp(`Options of ${command}[^\n]*:\n[\\s\\S]*?(?=\n\n|\n?$)`).exec(USAGE);
  const stores = /Store URLs[^\n]*:\n[\s\S]*?(?=\n\n)/.exec(USAGE);
  return `Usage: revokit ${command} [options]\n\n${options?.[0] ?? ''}\n\n${stores?.[0] ?? ''}\n`;
}

function version(): string {
  const manifest = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // Asked for, help goes to stdout; given for want of a command, it is an error's.
  if (command === undefined) throw new CliError('a command is required', 2, USAGE);
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`revokit ${version()}\n`);
    return 0;
  }
  if (!Object.hasOwn(OPTIONS, command))
    throw new CliError(`unknown command "${command}"`, 2, USAGE);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandUsage(command));
    return 0;
  }

  const values = usage(command, () => parse(command, rest));
  const store = values.store ?? DEFAULT_STORE;
  const retention = wholeNumber('--retention', values.retention, 7 * 24 * 3600, 0);
  const print = (line: string) => process.stdout.write(`${line}\n`);
  switch (command) {
    case 'migrate':
      await migrateCommand({ store }, print);
      return 0;
    case 'purge':
      await purgeCommand(
        {
          store,
          retention,
          batchSize: wholeNumber('--batch-size', values['batch-size'], 1000, 1),
        },
        print,
      );
      return 0;
    case 'revoke':
      await revokeCommand(
        { store, clientId: values.client, sub: values.subject, grantId: values.grant },
        print,
      );
      return 0;
  }

  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError(`--port must be a whole number from 0 to 65535, not "${values.port}"`);
  }
  if (values.issuer !== undefined) {
    const problem = issuerProblem(values.issuer);
    if (problem) throw new CliError(`--issuer: ${redactText(problem)}`);
  }
  for (const origin of values['cors-origin'] ?? []) {
    const problem = originProblem(origin);
    if (problem) throw new CliError(`--cors-origin: ${problem}`);
  }
  // Only Redis keeps ended tokens for a set time; elsewhere the option would do nothing.
  if (values.retention !== undefined && !/^rediss?:/i.test(store)) {
    throw new CliError(
      '--retention of serve is for a redis:// store; with other stores, ended tokens stay until revokit purge --retention SECONDS',
    );
  }
  const foreignToken = values['foreign-token'];
  if (foreignToken !== 'refuse' && foreignToken !== 'ignore') {
    throw new CliError(`--foreign-token must be refuse or ignore, not "${foreignToken}"`);
  }
  const publicIntrospection = values['public-introspection'];
  if (publicIntrospection !== 'refuse' && publicIntrospection !== 'own-tokens') {
    throw new CliError(
      `--public-introspection must be refuse or own-tokens, not "${publicIntrospection}"`,
    );
  }

  const storeTimeout = wholeNumber(
    '--store-timeout',
    values['store-timeout'],
    DEFAULT_STORE_TIMEOUT,
    MIN_STORE_TIMEOUT,
    MAX_STORE_TIMEOUT,
  );

  const logger = createLogger();
  // Handlers go in before start-up, so a signal that arrives while the server is still
  // starting shuts it down cleanly instead of killing the process.
  let signalled: NodeJS.Signals | undefined;
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const stop = (signal: NodeJS.Signals) => {
    signalled ??= signal;
    onSignal?.(signal);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const running = await serve(
    {
      host: values.host ?? '127.0.0.1',
      port,
      seed: values.seed,
      store,
      retention,
      issuer: values.issuer,
      corsOrigins: values['cors-origin'] ?? [],
      foreignToken,
      revokeRefreshWithAccess: values['revoke-refresh-with-access'] ?? false,
      publicIntrospection,
      storeTimeout,
    },
    logger,
  );
  await new Promise<void>((resolve) => {
    onSignal = (signal) => {
      logger.info('shutting down', { signal });
      running.close().then(resolve, resolve);
    };
    if (signalled) onSignal(signalled);
  });
  return 0;
}

/** Runs an argument parser, turning its complaint into a usage error. */
function usage<T>(command: string, parseArguments: () => T): T {
  try {
    return parseArguments();
  } catch (error) {
    throw new CliError(parserMessage(error as Error), 2, commandUsage(command));
  }
}

/**
 * `node:util` parseArgs's complaint in the words and quoting of revokit's own messages
 * (`--port must be …, not "abc"`); anything not recognised is passed through.
 */
function parserMessage(error: Error & { code?: string }): string {
  const named = /'([^']*)'/.exec(error.message)?.[1];
  if (named === undefined) return error.message;
  const flag = named.split(' ')[0] ?? named;
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option "${flag}"`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${named}": every option is given as --name VALUE`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (error.message.includes('does not take an argument')) return `${flag} takes no value`;
      if (error.message.includes('ambiguous')) {
        return `${flag} needs a value; write ${flag}=VALUE for a value that begins with "-"`;
      }
      return `${flag} needs a value`;
    default:
      return error.message;
  }
}

function wholeNumber(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
) {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(number) || number < min || number > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new CliError(`${flag} must be a whole number ${range}, not "${value}"`);
  }
  return number;
}

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

const OPTIONS: Readonly<Record<string, Options>> = {
  serve: {
    store: { type: 'string' },
    retention: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8080' },
    seed: { type: 'string' },
    issuer: { type: 'string' },
    'cors-origin': { type: 'string', multiple: true },
    'foreign-token': { type: 'string', default: 'refuse' },
    'revoke-refresh-with-access': { type: 'boolean' },
    'public-introspection': { type: 'string', default: 'refuse' },
    'store-timeout': { type: 'string' },
  },
  migrate: { store: { type: 'string' } },
  purge: {
    store: { type: 'string' },
    retention: { type: 'string' },
    'batch-size': { type: 'string' },
  },
  revoke: {
    store: { type: 'string' },
    client: { type: 'string' },
    subject: { type: 'string' },
    grant: { type: 'string' },
  },
};

function parse(command: string, args: string[]) {
  const options = OPTIONS[command] ?? {};
  return parseArgs({ args, strict: true, allowPositionals: false, options }).values as {
    store?: string;
    retention?: string;
    host?: string;
    port?: string;
    seed?: string;
    issuer?: string;
    'cors-origin'?: string[];
    'foreign-token'?: string;
    'revoke-refresh-with-access'?: boolean;
    'public-introspection'?: string;
    'store-timeout'?: string;
    'batch-size'?: string;
    client?: string;
    subject?: string;
    grant?: string;
  };
}

/**
 * Exits once stdout and stderr are flushed: a driver that keeps a socket or a timer alive
 * (a reconnecting client, say) must not keep a finished command running.
 */
function exit(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(exit, (error: unknown) => {
  if (error instanceof CliError) {
    process.stderr.write(`revokit: ${redactText(error.message)}\n`);
    if (error.usage) process.stderr.write(`\n${error.usage}`);
    exit(error.exitCode);
  } else {
    process.stderr.write(
      `revokit: unexpected failure: ${redactText((error as Error)?.message ?? String(error))}\n`,
    );
    exit(1);
  }
});

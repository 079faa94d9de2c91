import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type ServeProcess, startServe } from './support/cli.js';
import { basic, FORM, form, send } from './support/http-client.js';
import { tempDir } from './support/temp-dir.js';
import { onWire } from './support/wire.js';

const SEED = 'examples/seed.json';
const APP = basic('demo-app', 'demo-app-secret');

/** The seed's resource server introspects `token` (RFC 7662 §2.1). */
const apiIntrospects = (url: string, token: string) =>
  send(url, {
    path: '/oauth/introspect',
    headers: { 'content-type': FORM },
    body: form({ token, client_id: 'demo-api', client_secret: 'demo-api-secret' }),
  });

describe('revokit serve with a seed file (issue #2)', () => {
  let serve: ServeProcess;
  before(async () => {
    serve = await startServe(['--seed', SEED, '--store', 'memory:']);
  });
  after(async () => {
    await serve.stop();
  });

  it('revokes a refresh token, and introspection of its access token turns active:false (RFC 7009 §2.1, RFC 7662 §2.2)', async () => {
    const introspect = () => apiIntrospects(serve.url, 'demo-access-token');
    const before = await introspect();
    assert.equal((before.json as { active: boolean }).active, true);
    assert.equal((before.json as { client_id: string }).client_id, 'demo-app');

    const revoked = await send(serve.url, {
      path: '/oauth/revoke',
      headers: { 'content-type': FORM, authorization: APP },
      body: form({ token: 'demo-refresh-token', token_type_hint: 'refresh_token' }),
    });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body, '{}');

    const after = await introspect();
    assert.equal(after.body, '{"active":false}');
  });

  it('serves RFC 8414 metadata naming its own endpoints (RFC 8414 §3)', async () => {
    const res = await send(serve.url, {
      method: 'GET',
      path: '/.well-known/oauth-authorization-server',
    });
    assert.equal(res.status, 200);
    const body = res.json as Record<string, unknown>;
    assert.equal(body.issuer, serve.url);
    assert.equal(body.revocation_endpoint, `${serve.url}/oauth/revoke`);
    assert.equal(body.introspection_endpoint, `${serve.url}/oauth/introspect`);
    assert.ok(Array.isArray(body.revocation_endpoint_auth_methods_supported));
    assert.ok(Array.isArray(body.introspection_endpoint_auth_methods_supported));
  });

  it('logs one structured line per request with no token and no secret (issue #2: logging)', async () => {
    await send(serve.url, {
      path: '/oauth/revoke',
      headers: { 'content-type': FORM, authorization: basic('demo-app', 'wrong-secret-value') },
      body: form({ token: 'spa-access-token' }),
    });
    await send(serve.url, {
      path: '/oauth/revoke?token=demo-access-token-2',
      headers: { 'content-type': FORM, authorization: APP },
      body: form({ token: 'demo-access-token-2' }),
    });
    await send(serve.url, { method: 'GET', path: '/nope?token=demo-access-token' });
    // A path with no endpoint is the client's own text: it may hold a token (audit finding).
    await send(serve.url, { path: '/oauth/revoke/demo-refresh-token' });
    await onWire(serve.url, ['GARBAGE\r\n\r\n']);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = serve
      .output()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.msg === 'request');
    assert.ok(requests.length >= 3);
    for (const line of requests) {
      for (const key of ['method', 'status', 'duration_ms']) assert.ok(key in line, key);
      assert.equal('path' in line, line.status !== 404, JSON.stringify(line));
    }
    assert.ok(requests.some((line) => line.client_id === 'demo-app' && line.status === 200));
    assert.ok(
      requests.filter((line) => line.status === 404).length >= 2,
      'a path with no endpoint was not logged',
    );
    assert.ok(
      lines.some((line) => line.msg === 'request refused' && line.status === 400),
      'a request Node refused was not logged',
    );
    const text = serve.output();
    for (const secret of [
      'demo-access-token',
      'demo-refresh-token',
      'spa-access-token',
      'demo-app-secret',
      'demo-api-secret',
      'wrong-secret-value',
    ]) {
      assert.ok(!text.includes(secret), `the log holds ${secret}`);
    }
  });
});

describe('revokit serve --public-introspection (RFC 7662 §2.1; carried item: the policy had no flag)', () => {
  const spaIntrospects = (url: string, token: string) =>
    send(url, {
      path: '/oauth/introspect',
      headers: { 'content-type': FORM },
      body: form({ token, client_id: 'demo-spa' }),
    });
  const methods = async (url: string) => {
    const res = await send(url, { method: 'GET', path: '/.well-known/oauth-authorization-server' });
    return (
      (res.json as Record<string, string[]>).introspection_endpoint_auth_methods_supported ?? []
    );
  };

  it('by default (refuse), a public client is answered 401 invalid_client and the metadata leaves out none', async () => {
    const serve = await startServe(['--seed', SEED, '--store', 'memory:']);
    try {
      const res = await spaIntrospects(serve.url, 'spa-access-token');
      assert.equal(res.status, 401);
      assert.equal((res.json as { error: string }).error, 'invalid_client');
      assert.ok(!(await methods(serve.url)).includes('none'));
    } finally {
      await serve.stop();
    }
  });

  it("own-tokens: a public client learns of its own token, never of another client's; the metadata lists none", async () => {
    const serve = await startServe([
      '--seed',
      SEED,
      '--store',
      'memory:',
      '--public-introspection',
      'own-tokens',
    ]);
    try {
      const own = await spaIntrospects(serve.url, 'spa-access-token');
      assert.equal(own.status, 200);
      assert.equal((own.json as { active: boolean; client_id: string }).active, true);
      assert.equal((own.json as { client_id: string }).client_id, 'demo-spa');
      const other = await spaIntrospects(serve.url, 'demo-access-token');
      assert.equal(other.status, 200);
      assert.equal(other.body, '{"active":false}');
      assert.ok((await methods(serve.url)).includes('none'));
      // The other client's token is untouched: its owner's resource server still sees it.
      const api = await apiIntrospects(serve.url, 'demo-access-token');
      assert.equal((api.json as { active: boolean }).active, true);
    } finally {
      await serve.stop();
    }
  });

  it('any other value exits 2, naming the two policies', async () => {
    for (const value of ['yes', 'own_tokens', '']) {
      const stderr = await serveRefused(['--public-introspection', value]);
      assert.match(stderr, /--public-introspection must be refuse or own-tokens/);
    }
  });
});

describe('revokit serve: requests Node itself refuses still get JSON (contract: errors)', () => {
  let serve: ServeProcess;
  before(async () => {
    serve = await startServe(['--seed', SEED, '--store', 'memory:']);
  });
  after(async () => {
    await serve.stop();
  });

  const raw = (payload: string) =>
    new Promise<string>((resolve, reject) => {
      const { port, hostname } = new URL(serve.url);
      const socket = connect(Number(port), hostname, () => socket.end(payload));
      let answer = '';
      socket.on('data', (chunk) => {
        answer += chunk.toString();
      });
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });

  for (const [name, payload, status] of [
    [
      "headers over Node's limit",
      `POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400],
    [
      'Content-Length with chunked',
      'POST /oauth/revoke HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
    ],
  ] as const) {
    it(`${name} answers ${status} with an RFC 6749 §5.2 JSON body`, async () => {
      const answer = await raw(payload);
      assert.match(answer, new RegExp(`^HTTP/1.1 ${status} `));
      assert.match(answer, /content-type: application\/json/i);
      assert.match(answer, /cache-control: no-store/i);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: string };
      assert.equal(body.error, 'invalid_request');
    });
  }
});

/** `revokit serve` on the memory store with `args`: it must exit 2, with no stack trace. */
async function serveRefused(args: string[]): Promise<string> {
  const { code, stderr } = await runCli(['serve', '--port', '0', '--store', 'memory:', ...args]);
  assert.equal(code, 2, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /, 'a stack trace was printed');
  return stderr;
}

describe('revokit serve start-up and shutdown (issue #2)', () => {
  const dir = tempDir('revokit-cli-');

  it('exits 0 on SIGTERM and on SIGINT, closing cleanly', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const serve = await startServe(['--seed', SEED, '--store', 'memory:']);
      const code = await serve.stop(signal);
      assert.equal(code, 0, serve.output());
      assert.match(serve.output(), /"msg":"shutting down"/);
    }
  });

  it('with no seed, starts with no clients and says how to add some', async () => {
    const serve = await startServe(['--store', 'memory:']);
    try {
      assert.match(serve.output(), /no clients are registered.*--seed FILE/);
      const res = await send(serve.url, {
        path: '/oauth/revoke',
        headers: { 'content-type': FORM, authorization: APP },
        body: form({ token: 'x' }),
      });
      assert.equal(res.status, 401);
    } finally {
      await serve.stop();
    }
  });

  it('on a wildcard address without --issuer, warns that the issuer names that address; with --issuer, not (RFC 8414 §2; new-user audit finding)', async () => {
    const wild = await startServe(['--host', '0.0.0.0']);
    try {
      assert.match(
        wild.output(),
        /"level":"warn","msg":"no --issuer on a wildcard address: the metadata names http:\/\/0\.0\.0\.0:\d+ as the issuer/,
      );
    } finally {
      await wild.stop();
    }
    const named = await startServe(['--host', '0.0.0.0', '--issuer', 'https://as.example']);
    try {
      assert.doesNotMatch(named.output(), /no --issuer/);
    } finally {
      await named.stop();
    }
    const loopback = await startServe([]);
    try {
      assert.doesNotMatch(loopback.output(), /no --issuer/);
    } finally {
      await loopback.stop();
    }
  });

  it('with no seed and an empty persistent store, warns that every request answers invalid_client (audit finding)', async () => {
    const db = join(dir, 'empty-clients.db');
    const empty = await startServe(['--store', `sqlite:${db}`]);
    try {
      assert.match(empty.output(), /"level":"warn","msg":"no --seed and no clients in the store/);
    } finally {
      await empty.stop();
    }
    // Seeded once, the same store starts without --seed and without the warning.
    const seeded = await startServe(['--store', `sqlite:${db}`, '--seed', SEED]);
    await seeded.stop();
    const again = await startServe(['--store', `sqlite:${db}`]);
    try {
      assert.doesNotMatch(again.output(), /no clients in the store/);
      assert.match(again.output(), /no --seed: the clients already in the store/);
    } finally {
      await again.stop();
    }
  });

  const bad: [string, unknown, RegExp][] = [
    ['not JSON', '{"clients": [', /not valid JSON/],
    ['clients not an array', { clients: {} }, /clients: must be an array/],
    ['a client without client_id', { clients: [{}] }, /clients\[0\]\.client_id: is required/],
    [
      'a client_id repeated',
      { clients: [{ client_id: 'a' }, { client_id: 'a' }] },
      /clients\[1\]\.client_id/,
    ],
    [
      'an unknown auth method',
      { clients: [{ client_id: 'a', client_secret: 's', token_endpoint_auth_method: 'magic' }] },
      /clients\[0\]\.token_endpoint_auth_method/,
    ],
    [
      'a confidential client with no secret',
      { clients: [{ client_id: 'a', token_endpoint_auth_method: 'client_secret_post' }] },
      /clients\[0\]\.client_secret: is required/,
    ],
    [
      'a token of an unknown client',
      { clients: [], tokens: [{ client_id: 'ghost', access_token: 't' }] },
      /tokens\[0\]\.client_id/,
    ],
    [
      'a token entry with no token',
      { clients: [{ client_id: 'a' }], tokens: [{ client_id: 'a' }] },
      /tokens\[0\]: needs an access_token/,
    ],
    [
      'a public resource server',
      { clients: [{ client_id: 'rs', resource_server: true }] },
      /clients\[0\]\.resource_server: a resource server must authenticate/,
    ],
    [
      'private_key_jwt without jwks',
      { clients: [{ client_id: 'a', token_endpoint_auth_method: 'private_key_jwt' }] },
      /clients\[0\]\.jwks: is required for private_key_jwt/,
    ],
    [
      'a private key in jwks',
      {
        clients: [
          {
            client_id: 'a',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }] },
          },
        ],
      },
      /clients\[0\]\.jwks\.keys\[0\]: must be a public key/,
    ],
    // The audit of 2026-12-02: values some stores take and others refuse, and keys that
    // could never verify an assertion.
    [
      'an expires_in no store can hold',
      {
        clients: [{ client_id: 'a' }],
        tokens: [{ client_id: 'a', access_token: 't', expires_in: 1e308 }],
      },
      /tokens\[0\]\.expires_in: must be a whole number of seconds/,
    ],
    [
      'a fractional issued_at',
      {
        clients: [{ client_id: 'a' }],
        tokens: [{ client_id: 'a', access_token: 't', issued_at: 1.5 }],
      },
      /tokens\[0\]\.issued_at: must be a whole number/,
    ],
    [
      'a NUL in a client_id',
      { clients: [{ client_id: 'a\u0000b' }] },
      /clients\[0\]\.client_id: must not hold a NUL character/,
    ],
    [
      'a grant shared by two clients',
      {
        clients: [{ client_id: 'a' }, { client_id: 'b' }],
        tokens: [
          { client_id: 'a', access_token: 'ta', grant_id: 'shared' },
          { client_id: 'b', refresh_token: 'tb', grant_id: 'shared' },
        ],
      },
      /tokens\[1\]\.grant_id: "shared" is a grant of client "a"/,
    ],
    [
      'a symmetric key in jwks',
      {
        clients: [
          {
            client_id: 'a',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
          },
        ],
      },
      /clients\[0\]\.jwks\.keys\[0\]: must be a public key, not a symmetric one/,
    ],
    [
      'an RSA key holding its primes',
      {
        clients: [
          {
            client_id: 'a',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB', p: 'AQAB', q: 'AQAB' }] },
          },
        ],
      },
      /clients\[0\]\.jwks\.keys\[0\]: must be a public key \(it holds "p"\)/,
    ],
    [
      'a key that is not a point on its curve',
      {
        clients: [
          {
            client_id: 'a',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'BBBB' }] },
          },
        ],
      },
      /clients\[0\]\.jwks\.keys\[0\]: is not a valid public key/,
    ],
    [
      'a key whose alg is an HMAC',
      {
        clients: [
          {
            client_id: 'a',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: {
              keys: [
                {
                  kty: 'EC',
                  crv: 'P-256',
                  x: 'gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0',
                  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
                  alg: 'HS256',
                },
              ],
            },
          },
        ],
      },
      /clients\[0\]\.jwks\.keys\[0\]\.alg: must be one of/,
    ],
    [
      'a negative expires_in',
      {
        clients: [{ client_id: 'a' }],
        tokens: [{ client_id: 'a', access_token: 't', expires_in: -5 }],
      },
      /tokens\[0\]\.expires_in/,
    ],
    // Unknown fields (audit finding): a misspelt one would leave a client public or a token
    // without expiry, with nothing said.
    [
      'a misspelt client_secret',
      { clients: [{ client_id: 'a', clientSecret: 's' }] },
      /clients\[0\]\.clientSecret: is not a field revokit reads/,
    ],
    [
      'a misspelt expires_in',
      {
        clients: [{ client_id: 'a', client_secret: 's' }],
        tokens: [{ client_id: 'a', access_token: 't', expiresIn: 60 }],
      },
      /tokens\[0\]\.expiresIn: is not a field revokit reads/,
    ],
    ['an unknown top-level field', { client: [] }, /client: is not a field revokit reads/],
    [
      'a sub longer than every store can index (audit finding: PostgreSQL refused it)',
      {
        clients: [{ client_id: 'a', client_secret: 's' }],
        tokens: [{ client_id: 'a', access_token: 't', sub: 'x'.repeat(2049) }],
      },
      /tokens\[0\]\.sub: must be at most 2048 bytes/,
    ],
  ];
  for (const [name, content, message] of bad) {
    it(`a malformed seed file (${name}) exits 2 naming the bad field`, async () => {
      const file = join(dir, `${name.replaceAll(' ', '-')}.json`);
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
      assert.match(await serveRefused(['--seed', file]), message);
    });
  }

  it('a jwks may hold encryption keys beside its signing key (RFC 7591 §2)', async () => {
    const publicJwk = () =>
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const keys = [
      { ...publicJwk(), use: 'sig', alg: 'ES256' },
      { ...publicJwk(), use: 'enc', alg: 'ECDH-ES' },
    ];
    const file = join(dir, 'enc-keys.json');
    writeFileSync(
      file,
      JSON.stringify({
        clients: [
          { client_id: 'a', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys } },
        ],
      }),
    );
    const serve = await startServe(['--seed', file, '--store', 'memory:']);
    try {
      assert.match(serve.output(), /"msg":"listening"/);
    } finally {
      await serve.stop();
    }
  });

  it('a missing seed file exits 2 with a clear message', async () => {
    const { code, stderr } = await runCli([
      'serve',
      '--store',
      'memory:',
      '--seed',
      join(dir, 'nope.json'),
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /cannot be read \(ENOENT\)/);
  });

  it('each command answers --help with its own options and exits 0 (issue #2: the CLI)', async () => {
    for (const command of ['serve', 'migrate', 'purge', 'revoke']) {
      const { code, stdout } = await runCli([command, '--help']);
      assert.equal(code, 0, command);
      assert.match(stdout, new RegExp(`^Usage: revokit ${command} `));
      assert.match(stdout, new RegExp(`Options of ${command}`));
      for (const other of ['serve', 'migrate', 'purge', 'revoke'].filter((c) => c !== command)) {
        assert.doesNotMatch(stdout, new RegExp(`Options of ${other}`));
      }
    }
  });

  it('--version prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const { code, stdout } = await runCli(['--version']);
    assert.equal(code, 0);
    assert.equal(stdout, `revokit ${version}\n`);
  });

  it('a --cors-origin that no browser would send exits 2 saying which origin was meant', async () => {
    for (const [origin, message] of [
      ['https://app.example/', /did you mean "https:\/\/app.example"/],
      ['notaurl', /is not an origin/],
      ['https://App.Example:443', /did you mean "https:\/\/app.example"/],
    ] as const) {
      assert.match(await serveRefused(['--cors-origin', origin]), message);
    }
  });

  it('an --issuer that is no RFC 8414 issuer exits 2 (RFC 8414 §2)', async () => {
    for (const issuer of [
      'not a url',
      'https://auth.example?x=1',
      'https://u:hunter2@auth.example',
    ]) {
      const stderr = await serveRefused(['--issuer', issuer]);
      assert.match(stderr, /--issuer: /);
      assert.doesNotMatch(stderr, /hunter2/);
    }
  });

  it("a usage error prints the command's own help on stderr, its store URL forms unmasked; no command at all exits 2 with the help on stderr (new-user audit finding)", async () => {
    const { code, stdout, stderr } = await runCli(['serve', '--bogus']);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, '');
    assert.match(stderr, /^revokit: .*--bogus/);
    assert.match(stderr, /Usage: revokit serve /);
    assert.doesNotMatch(stderr, /Options of (migrate|purge|revoke)/);
    // The redaction of passwords in messages had turned the help's placeholder into USER:***.
    assert.match(stderr, /postgres:\/\/USER:PASSWORD@HOST/);
    const bare = await runCli([]);
    assert.equal(bare.code, 2);
    assert.equal(bare.stdout, '');
    assert.match(bare.stderr, /^revokit: a command is required\n\nUsage: revokit <command>/);
    const help = await runCli(['help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: revokit <command>/);
  });

  it('serve --retention with a store other than Redis exits 2 rather than do nothing (new-user audit finding)', async () => {
    for (const store of [[], ['--store', 'memory:'], ['--store', 'sqlite:./x.db']]) {
      const stderr = await serveRefused([...store, '--retention', '60']);
      assert.match(stderr, /--retention of serve is for a redis:\/\/ store/);
      assert.match(stderr, /revokit purge --retention/);
    }
  });

  it("the argument parser's complaints read as revokit's own: the flag named, values quoted, a hint where one helps (new-user audit finding)", async () => {
    for (const [args, message] of [
      [['serve', '--bogus'], 'revokit: unknown option "--bogus"\n'],
      [['serve', '--bogus=1'], 'revokit: unknown option "--bogus"\n'],
      [['serve', '--port'], 'revokit: --port needs a value\n'],
      [
        ['serve', 'now'],
        'revokit: unexpected argument "now": every option is given as --name VALUE\n',
      ],
      [
        ['serve', '--revoke-refresh-with-access=yes'],
        'revokit: --revoke-refresh-with-access takes no value\n',
      ],
      [
        ['revoke', '--client', '-app'],
        'revokit: --client needs a value; write --client=VALUE for a value that begins with "-"\n',
      ],
    ] as const) {
      const { code, stdout, stderr } = await runCli([...args]);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, '');
      assert.ok(stderr.startsWith(`${message}\nUsage: revokit ${args[0]} `), stderr);
    }
  });

  it('serve --store-timeout takes a whole number of ms from 2000 to 60000, else exits 2 (docs/stores.md, PostgreSQL statement timeout)', async () => {
    for (const value of ['1999', '60001', 'abc', '2500.5', '']) {
      const stderr = await serveRefused(['--store-timeout', value]);
      assert.match(stderr, /--store-timeout must be a whole number from 2000 to 60000/);
    }
  });

  it('bad options exit 2 with usage', async () => {
    for (const args of [['serve', '--port', 'eighty'], ['serve', '--nope'], ['frobnicate']]) {
      const { code, stderr } = await runCli(args);
      assert.equal(code, 2, stderr);
      assert.match(stderr, /revokit: /);
    }
  });
});

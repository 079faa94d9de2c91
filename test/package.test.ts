import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

interface Manifest {
  bin: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
}

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as Manifest;

/** The files `npm pack` would publish (dist/ is built by `npm test` before this runs). */
function packed(): string[] {
  const run = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const [pack] = JSON.parse(run.stdout) as [{ files: { path: string }[] }];
  return pack.files.map((file) => file.path);
}

describe('the published package (ESM, an exports map per subpath, files)', () => {
  const files = packed();
  const has = (path: string) => files.includes(path.replace(/^\.\//, ''));

  it('every subpath of the exports map, and the bin, is a file in the package', () => {
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      for (const path of typeof target === 'string' ? [target] : [target.default, target.types]) {
        assert.ok(has(path), `${subpath}: ${path} is not packed`);
      }
    }
    for (const target of Object.values(manifest.bin)) assert.ok(has(target), target);
  });

  it('holds no tests, benchmarks, sources or scratch files', () => {
    const stray = files.filter((path) => /^(src|test|bench|\.tmp|\.ci)\/|\.test\./.test(path));
    assert.deepEqual(stray, []);
  });

  it('every source map carries its sources, since src/ is not published', () => {
    const maps = files.filter((path) => path.endsWith('.map'));
    assert.ok(maps.length > 0);
    for (const path of maps) {
      const map = JSON.parse(readFileSync(path, 'utf8')) as {
        sources: string[];
        sourcesContent?: (string | null)[];
      };
      assert.equal(map.sourcesContent?.length, map.sources.length, `${path} has no sources`);
      assert.ok(
        map.sourcesContent.every((text) => typeof text === 'string' && text.length > 0),
        path,
      );
    }
  });

  it('ships the docs and examples the README and the runtime warnings point to (a user of the npm package has no checkout)', () => {
    for (const path of [
      'docs/behaviour.md',
      'docs/frameworks.md',
      'docs/stores.md',
      'examples/express.ts',
    ]) {
      assert.ok(has(path), path);
    }
    assert.match(readFileSync('src/adapters/bridge.ts', 'utf8'), /docs\/frameworks\.md/);
  });

  it('ships examples/seed.json, which `revokit serve` points a user without clients to', () => {
    assert.ok(has('examples/seed.json'));
    assert.match(readFileSync('src/cli/serve.ts', 'utf8'), /examples\/seed\.json/);
  });
});

describe('docs/api.md names every export (audit finding: public API with no docs)', () => {
  const api = readFileSync('docs/api.md', 'utf8');
  for (const subpath of Object.keys(manifest.exports)) {
    if (subpath === './package.json') continue;
    it(`every runtime export of revokit${subpath.slice(1)} is in docs/api.md`, async () => {
      const entry = manifest.exports[subpath];
      const file = typeof entry === 'string' ? entry : entry?.default;
      assert.ok(file, subpath);
      const module = (await import(`../${file}`)) as Record<string, unknown>;
      const missing = Object.keys(module).filter((name) => !api.includes(`\`${name}`));
      assert.deepEqual(missing, [], `not in docs/api.md: ${missing.join(', ')}`);
    });
  }
});

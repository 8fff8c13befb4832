// The npm tarball: `npm pack` (dist/ already built: `prepare` builds it when run by hand), then
// `npm install -g --offline --prefix TMP` of the tarball (its dependencies are bundled in it, so no registry is
// needed), and from a temp folder the installed `longreach`: --version, --help, cert create (a bundled dependency),
// pyz (the same bytes as from the checkout), and `python -m longreach` from the installed package attached once.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, PYTHON } from '../helpers/cli.js';
import { assertAttached, attachOnce, copyFixture, ok, tempFolder } from '../helpers/install.js';
import { ROOT } from '../helpers/paths.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; scripts: Record<string, string> };

/** A user's shell: none of the npm_* variables that `npm test` sets for its scripts (but the cache it uses). */
function cleanNpmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^npm_/i.test(name) && name.toLowerCase() !== 'npm_config_cache') delete env[name];
  return { ...env, NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };
}

test('npm pack + npm install -g --offline of the tarball: a working longreach with the Python agent inside', async (t) => {
  assert.match(pkg.scripts.prepare ?? '', /npm run build/, 'npm pack builds dist/ first (prepare)');
  const dir = tempFolder(t, 'longreach-npm-');
  const env = cleanNpmEnv();
  // --ignore-scripts: dist/ is already built for the tests; rebuilding it here would race the other suites.
  const packed = await ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir, ROOT], { cwd: dir, env, timeoutMs: 60_000 });
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  assert.ok(info);
  const files = info.files.map((f) => f.path);
  for (const needed of ['dist/src/cli/bin.js', 'dist/src/agent-node/register.js', 'dist/src/agent-node/job/hook.cjs', 'dist/src/agent-node/job/variable.cjs', 'python/longreach/__main__.py', 'python/pyproject.toml', 'python/setup.cfg', 'node_modules/@peculiar/x509/package.json', 'README.md']) {
    assert.ok(files.includes(needed), `${needed} is in the tarball`);
  }
  // Every package the CLI needs at run time travels in the tarball (bundleDependencies), so installing needs no registry.
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const runtime = Object.entries(lock.packages).filter(([path, p]) => path.startsWith('node_modules/') && p.dev !== true).map(([path]) => `${path}/package.json`);
  assert.ok(runtime.length > 0);
  const missing = runtime.filter((p) => !files.includes(p));
  assert.deepEqual(missing, [], 'runtime dependencies missing from the tarball: is node_modules older than package-lock.json? (npm ci)');
  const unwanted = files.filter((f) => /(^|\/)__pycache__\/|\.pyc$|^dist\/test\/|^python\/tests\/|^src\/|^test\//.test(f));
  assert.deepEqual(unwanted, [], 'no tests, sources or compiled Python in the tarball');

  const prefix = join(dir, 'prefix');
  await ok('npm', ['install', '-g', '--offline', '--prefix', prefix, join(dir, info.filename)], { cwd: dir, env, timeoutMs: 90_000 });
  const longreach = join(prefix, 'bin', 'longreach');
  const installed = join(prefix, 'lib', 'node_modules', pkg.name);
  assert.ok(existsSync(longreach), 'the longreach command is in PREFIX/bin');

  const version = await ok(longreach, ['--version'], { cwd: dir, env });
  assert.equal(version.stdout, `${pkg.version}\n`);
  const help = await ok(longreach, ['--help'], { cwd: dir, env });
  assert.match(help.stdout, /^ {2}pyz {6}write the Python agent as one file/m);
  const cert = await ok(longreach, ['cert', 'create', '--out', join(dir, 'tls')], { cwd: dir, env });
  assert.match(cert.stdout, /Fingerprint: sha256:[0-9a-f]{64}/);

  await ok(longreach, ['pyz', '--out', 'installed.pyz'], { cwd: dir, env });
  await ok(process.execPath, [BIN, 'pyz', '--out', 'checkout.pyz'], { cwd: dir, env });
  assert.ok(readFileSync(join(dir, 'installed.pyz')).equals(readFileSync(join(dir, 'checkout.pyz'))), 'the installed package holds the same agent');

  const attached = await attachOnce(t, {
    python: PYTHON,
    launch: ['-m', 'longreach'],
    script: copyFixture(dir),
    cwd: dir,
    env: { PYTHONPATH: join(installed, 'python') },
    cli: [longreach],
  });
  assertAttached(attached);
});

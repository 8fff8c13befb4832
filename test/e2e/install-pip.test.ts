// `pip install ./python` offline, as on a host without internet: a fresh venv (with the system's setuptools and wheel,
// Debian's python3 and pypy3), `pip install --no-build-isolation --no-index ./python`, then, from another folder,
// the installed package: its version, that every file of the agent (subpackages too) was installed, and
// `python -m longreach` attached once with the CLI.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN } from '../helpers/cli.js';
import { assertAttached, attachOnce, copyFixture, ok, tempFolder } from '../helpers/install.js';
import { ROOT } from '../helpers/paths.js';

const INTERPRETERS: Array<[string, string]> = [
  ['CPython (Debian python3, with python3-setuptools and python3-wheel)', process.env.LONGREACH_DEBUGPY_PYTHON || '/usr/bin/python3'],
  ['PyPy 3', 'pypy3'],
];

function agentFiles(dir: string, under = ''): string[] {
  return readdirSync(join(dir, under))
    .filter((name) => name !== '__pycache__' && !name.endsWith('.pyc'))
    .flatMap((name) => {
      const rel = under === '' ? name : `${under}/${name}`;
      return statSync(join(dir, rel)).isDirectory() ? agentFiles(dir, rel) : [`longreach/${rel}`];
    });
}

/** No index, no local wheel folders, no constraints: only what the interpreter already has. */
function offlinePipEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('PIP_') || name === 'PYTHONPATH') delete env[name];
  return { ...env, PIP_CONFIG_FILE: '/dev/null', PIP_NO_INDEX: '1', PIP_NO_CACHE_DIR: '1', PIP_DISABLE_PIP_VERSION_CHECK: '1' };
}

for (const [label, python] of INTERPRETERS) {
  test(`${label}: pip install --no-build-isolation --no-index ./python in a fresh venv gives a working agent`, async (t) => {
    const dir = tempFolder(t, 'longreach-pip-');
    // What a user copies to the host: the python/ folder of the checkout (or of the installed npm package).
    const source = join(dir, 'copy', 'python');
    cpSync(join(ROOT, 'python'), source, { recursive: true, filter: (from) => !/(^|\/)(__pycache__|tests|build|[^/]*\.egg-info)$/.test(from) });
    const env = offlinePipEnv();
    await ok(python, ['-m', 'venv', '--system-site-packages', '--without-pip', join(dir, 'venv')], { cwd: dir, env });
    const venvPython = join(dir, 'venv', 'bin', 'python');
    await ok(venvPython, ['-m', 'pip', 'install', '--no-build-isolation', '--no-index', './python'], { cwd: join(dir, 'copy'), env, timeoutMs: 120_000 });

    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const probe = [
      'import json, importlib.metadata as md, longreach',
      'files = sorted(str(f) for f in md.files("longreach") if str(f).startswith("longreach/") and "__pycache__" not in str(f))',
      'print(json.dumps({"version": md.version("longreach"), "init": longreach.__file__, "files": files, "requires": md.requires("longreach")}))',
    ].join('\n');
    const installed = JSON.parse((await ok(venvPython, ['-c', probe], { cwd: elsewhere, env })).stdout) as { version: string; init: string; files: string[]; requires: string[] | null };
    assert.equal(installed.version, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    assert.ok(installed.init.startsWith(join(dir, 'venv')), `imported from the venv, not the checkout: ${installed.init}`);
    assert.deepEqual(installed.files, agentFiles(join(ROOT, 'python', 'longreach')).sort(), 'every file of the agent is installed');
    assert.equal(installed.requires, null, 'no runtime dependencies');

    const help = await ok(venvPython, ['-m', 'longreach', '--help'], { cwd: elsewhere, env });
    assert.match(help.stdout, /^usage: python -m longreach --listen/);
    const attached = await attachOnce(t, { python: venvPython, launch: ['-m', 'longreach'], script: copyFixture(elsewhere), cwd: elsewhere, env: { PYTHONPATH: '' }, cli: [process.execPath, BIN] });
    assertAttached(attached);
  });
}

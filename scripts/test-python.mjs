#!/usr/bin/env node
// Runs the Python agent's unittest suite on every supported interpreter: CPython 3.8-3.13 (from pyenv) and PyPy 3.
// Fails, naming what is missing, when any interpreter is not installed. No dependencies.
//
//   node scripts/test-python.mjs            all interpreters, 2 at a time
//   LONGREACH_PY_JOBS=1 node scripts/...    one at a time
//   node scripts/test-python.mjs 3.11 pypy  only those (for a quick local run; CI runs them all)
//   node scripts/test-python.mjs data       python/tests_data (numpy, pandas, torch) on the system Python
//
// Every interpreter runs python/tests without numpy, pandas or torch (the agent never needs them); the `data`
// target runs python/tests_data on /usr/bin/python3, where scripts/setup-debian.sh installs Debian's
// python3-numpy, python3-pandas and python3-torch.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MINORS = [8, 9, 10, 11, 12, 13];
const JOBS = Math.max(1, Math.min(2, Number(process.env.LONGREACH_PY_JOBS ?? 2) || 2));
const TIMEOUT_MS = (Number(process.env.LONGREACH_PY_TIMEOUT) || 900) * 1000;
const TAIL_LINES = 60;

function pyenvRoot() {
  if (process.env.PYENV_ROOT) return process.env.PYENV_ROOT;
  try {
    const out = execFileSync('pyenv', ['root'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (out) return out;
  } catch {
    // pyenv not on PATH: fall back to its default location
  }
  return join(homedir(), '.pyenv');
}

function isExecutable(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function findCPython(root, minor) {
  const versions = join(root, 'versions');
  let names = [];
  try {
    names = readdirSync(versions);
  } catch {
    return undefined;
  }
  const candidates = names
    .map((name) => ({ name, m: /^3\.(\d+)\.(\d+)$/.exec(name) }))
    .filter(({ m }) => m && Number(m[1]) === minor)
    .map(({ name, m }) => ({ name, patch: Number(m[2]), exe: join(versions, name, 'bin', 'python3') }))
    .filter(({ exe }) => isExecutable(exe))
    .sort((a, b) => b.patch - a.patch);
  return candidates[0] && { label: `CPython ${candidates[0].name}`, exe: candidates[0].exe };
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function discover() {
  const root = pyenvRoot();
  const found = [];
  const missing = [];
  for (const minor of MINORS) {
    const py = findCPython(root, minor);
    if (py) found.push({ key: `3.${minor}`, ...py });
    else missing.push(`CPython 3.${minor} (no ${join(root, 'versions', `3.${minor}.*`, 'bin', 'python3')}; ` +
      `install it with: pyenv install 3.${minor})`);
  }
  const pypy = findOnPath('pypy3');
  if (pypy) found.push({ key: 'pypy', label: 'PyPy 3', exe: pypy });
  else missing.push('PyPy 3 (pypy3 is not on PATH; install it with: apt-get install -y pypy3)');
  const system = '/usr/bin/python3';
  if (isExecutable(system) && hasDataLibraries(system)) {
    found.push({ key: 'data', label: 'data (system)', exe: system, suite: 'python/tests_data' });
  } else {
    missing.push(`numpy, pandas and torch for ${system} (the data-value tests use them; install them with ` +
      'scripts/setup-debian.sh: python3-numpy python3-pandas python3-torch)');
  }
  return { found, missing };
}

function hasDataLibraries(exe) {
  try {
    execFileSync(exe, ['-c', 'import numpy, pandas, torch'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

function runSuite(py) {
  return new Promise((resolvePromise) => {
    const started = Date.now();
    // -X faulthandler: on a timeout, SIGABRT makes the interpreter print every thread's stack before it dies.
    const args = ['-X', 'faulthandler', '-m', 'unittest', 'discover', '-s', py.suite ?? 'python/tests', '-t', 'python'];
    const child = spawn(py.exe, args, {
      cwd: REPO,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONWARNINGS: process.env.PYTHONWARNINGS ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    let killer;
    const timer = setTimeout(() => {
      output += `\n[test-python] timed out after ${TIMEOUT_MS / 1000} s; thread stacks follow\n`;
      child.kill('SIGABRT');
      killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, TIMEOUT_MS);
    child.on('error', (err) => {
      output += `\n[test-python] cannot start ${py.exe}: ${err.message}\n`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      const ran = /Ran (\d+) tests? in/.exec(output);
      resolvePromise({
        py,
        ok: code === 0,
        code: code ?? signal,
        tests: ran ? Number(ran[1]) : 0,
        seconds: (Date.now() - started) / 1000,
        output,
      });
    });
  });
}

async function runAll(list) {
  const results = [];
  let next = 0;
  async function worker() {
    while (next < list.length) {
      const py = list[next++];
      const result = await runSuite(py);
      const status = result.ok ? 'ok  ' : 'FAIL';
      console.log(`${status} ${py.label.padEnd(16)} ${String(result.tests).padStart(4)} tests  ${result.seconds.toFixed(1)} s`);
      results.push(result);
    }
  }
  await Promise.all(Array.from({ length: Math.min(JOBS, list.length) }, worker));
  return results;
}

async function main() {
  const only = process.argv.slice(2);
  const { found, missing } = discover();
  if (only.length === 0 && missing.length > 0) {
    console.error('test-python: required Python interpreters are missing:');
    for (const m of missing) console.error(`  - ${m}`);
    process.exit(1);
  }
  const list = only.length ? found.filter((py) => only.includes(py.key)) : found;
  if (only.length && list.length !== only.length) {
    console.error(`test-python: not found: ${only.filter((k) => !list.some((py) => py.key === k)).join(', ')} ` +
      `(available: ${found.map((py) => py.key).join(', ')})`);
    process.exit(1);
  }
  console.log(`test-python: ${list.map((py) => py.label).join(', ')} (${JOBS} at a time)`);
  const results = await runAll(list);
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) {
    const lines = r.output.trimEnd().split('\n');
    console.log(`\n----- ${r.py.label} (${r.py.exe}) exited with ${r.code}; last ${TAIL_LINES} lines -----`);
    console.log(lines.slice(-TAIL_LINES).join('\n'));
  }
  const total = results.reduce((n, r) => n + r.tests, 0);
  console.log(`\ntest-python: ${results.length - failed.length}/${results.length} interpreters passed, ${total} tests run`);
  process.exit(failed.length ? 1 : 0);
}

main().catch((err) => {
  console.error(`test-python: ${err.stack ?? err}`);
  process.exit(1);
});

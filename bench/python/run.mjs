// `npm run bench:python`: runs bench/python/bench.py under every Python found (CPython 3.8-3.13 from pyenv or
// PATH, and pypy3), one after the other, and prints the median ratios and latencies per interpreter.
// Options: --reps N (default 5), --only SUBSTRING (e.g. --only 3.12 or --only pypy), --workloads a,b, --json.
// Each interpreter gets two tables: wall time and CPU time of the program's process (the steadier one on a busy
// machine).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const reps = Number(option('--reps', '5'));
const only = option('--only', '');
const workloadList = option('--workloads', '');
const asJson = args.includes('--json');

function pyenvRoot() {
  try {
    return execFileSync('pyenv', ['root'], { encoding: 'utf8' }).trim();
  } catch {
    return join(homedir(), '.pyenv');
  }
}

function interpreters() {
  const found = [];
  const root = join(pyenvRoot(), 'versions');
  const seen = new Set();
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))) {
      const m = /^3\.(\d+)\.\d+$/.exec(v);
      if (!m || Number(m[1]) < 8 || Number(m[1]) > 13) continue;
      const exe = join(root, v, 'bin', 'python3');
      if (existsSync(exe)) {
        found.push({ label: `CPython ${v}`, exe });
        seen.add(`3.${m[1]}`);
      }
    }
  }
  for (const minor of [8, 9, 10, 11, 12, 13]) {
    if (seen.has(`3.${minor}`)) continue;
    const r = spawnSync(`python3.${minor}`, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    if (r.status === 0) found.push({ label: `CPython 3.${minor}`, exe: r.stdout.trim() });
  }
  const pypy = spawnSync('pypy3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (pypy.status === 0) found.push({ label: 'PyPy 3', exe: pypy.stdout.trim() });
  return found.filter((i) => !only || i.label.toLowerCase().includes(only.toLowerCase()));
}

const results = [];
const list = interpreters();
if (list.length === 0) {
  console.error('bench:python: no Python interpreter found (looked in pyenv, python3.X on PATH, pypy3)');
  process.exit(1);
}
for (const { label, exe } of list) {
  if (!asJson) console.log(`\n== ${label} (${exe}), ${reps} repetitions ...`);
  const r = spawnSync(exe, [join(here, 'bench.py'), '--json', '--reps', String(reps), ...(workloadList ? ['--workloads', workloadList] : [])], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) {
    console.error(`bench:python: ${label} failed:\n${(r.stderr || '').slice(-3000)}`);
    process.exitCode = 1;
    continue;
  }
  const result = JSON.parse(r.stdout.trim().split('\n').pop());
  results.push(result);
  if (asJson) continue;
  const workloads = Object.keys(result.ratios);
  const scenarios = Object.keys(result.ratios[workloads[0]]);
  const width = Math.max(...scenarios.map((s) => s.length));
  for (const [key, what] of [['ratios', 'wall time'], ['cpu_ratios', 'CPU time of the process']]) {
    console.log(`${result.runtime}: median of ${result.reps} interleaved repetitions (scenario / plain, ${what})`);
    console.log(`  ${''.padEnd(width)}  ${workloads.map((w) => w.padStart(12)).join('  ')}`);
    for (const s of scenarios) {
      const cells = workloads.map((w) => `${result[key][w][s].toFixed(3)}x`.padStart(12));
      console.log(`  ${s.padEnd(width)}  ${cells.join('  ')}`);
    }
  }
  for (const [k, v] of Object.entries(result.latency_ms)) {
    console.log(`  ${k.padEnd(45)} ${v.toFixed(2).padStart(8)} ms`);
  }
}
if (asJson) console.log(JSON.stringify(results, null, 2));

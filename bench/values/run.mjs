// `npm run bench:values`: runs bench/values/bench.py on the system Python (numpy, pandas and torch from Debian:
// scripts/setup-debian.sh) and prints the four figures of issue 13 side by side with their targets.
// Options: --reps N (default 15), --json.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const i = args.indexOf('--reps');
const reps = i >= 0 ? args[i + 1] : '15';
const python = process.env.LONGREACH_DATA_PYTHON || '/usr/bin/python3';
const r = spawnSync(python, [join(here, 'bench.py')], { encoding: 'utf8', env: { ...process.env, BENCH_REPS: reps }, maxBuffer: 1 << 24 });
if (r.status !== 0) {
  process.stderr.write(r.stdout + r.stderr);
  process.stderr.write(`bench:values: ${python} failed (it needs numpy, pandas and torch: scripts/setup-debian.sh installs them)\n`);
  process.exit(1);
}
const rows = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
if (args.includes('--json')) {
  for (const row of rows) console.log(JSON.stringify(row));
} else {
  console.log(`bench:values on ${python} (median of ${reps} runs, measured inside the program)\n`);
  const w = Math.max(...rows.map((x) => x.figure.length));
  console.log(`${'figure'.padEnd(w)}  ${'median'.padStart(9)}  ${'min'.padStart(9)}  ${'max'.padStart(9)}  target`);
  for (const x of rows) {
    const ms = (v) => `${v.toFixed(2)} ms`.padStart(9);
    console.log(`${x.figure.padEnd(w)}  ${ms(x.median_ms)}  ${ms(x.min_ms)}  ${ms(x.max_ms)}  ${x.target}${x.cold_ms !== undefined ? ` (first ever: ${x.cold_ms.toFixed(2)} ms)` : ''}`);
  }
}

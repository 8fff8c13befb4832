// The program bench/node/jobs.ts times (node job-workload.js MODE ...):
//   idle N WORK   forks N children (child_process.fork of this file), each adding up WORK numbers (in slices, its
//                 event loop turning between them) and ending;
//                 prints {"ms": ..., "cpuMs": ...} once all have ended: the wall time, and the CPU time of the whole
//                 job meanwhile (this process's, every thread's, and its ended children's: getrusage's SELF and
//                 CHILDREN, the latter read from /proc/self/stat; CLK_TCK in the environment, else 100)
//   step          forks one child; both call tick() forever (the bench steps in one or the other)
//   child WORK | child-step   what a forked child runs
//   linger MS     lives MS milliseconds doing nothing, then ends (a child of an awake job: one that joins it)
//   root          under the agent: prints {"job": LONGREACH_JOB, "nodeOptions": NODE_OPTIONS} and idles (the job whose
//                 children the per-child measurement starts)
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const SLICE = 10_000_000;

function work(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += i % 7;
  return total;
}

export function tick(i: number): number {
  let x = i * 2; // @step-a
  x += 1; // @step-b
  return x;
}

async function spin(): Promise<void> {
  for (let i = 0; ; i++) {
    tick(i);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** CPU milliseconds of this process (all its threads) and of its children that have ended and been waited for. */
function jobCpuMs(): number {
  const own = process.cpuUsage();
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is the state, field 3 of proc(5)
  const ticks = Number(fields[13]) + Number(fields[14]); // cutime, cstime (fields 16 and 17)
  return (own.user + own.system) / 1000 + (ticks * 1000) / Number(process.env.CLK_TCK ?? 100);
}

const [mode, a, b] = process.argv.slice(2);
if (mode === 'child') {
  // in slices of at most 10,000,000 numbers with a turn of the event loop between them, as a process that works
  // and still serves its events does (so that, in a job that is awake, it can join the job and answer its gateway)
  for (let left = Number(a); left > 0; left -= SLICE) {
    work(Math.min(SLICE, left));
    await new Promise((resolve) => setImmediate(resolve));
  }
  process.exit(0);
} else if (mode === 'linger') {
  setTimeout(() => undefined, Number(a));
} else if (mode === 'root') {
  process.stdout.write(`${JSON.stringify({ job: process.env.LONGREACH_JOB, nodeOptions: process.env.NODE_OPTIONS })}\n`);
  setInterval(() => undefined, 1000);
} else if (mode === 'child-step') {
  void spin();
} else if (mode === 'idle') {
  const start = process.hrtime.bigint();
  const cpu = jobCpuMs();
  const n = Number(a);
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => fork(SELF, ['child', String(b)]).on('exit', resolve))));
  process.stdout.write(`${JSON.stringify({ ms: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: jobCpuMs() - cpu })}\n`);
} else if (mode === 'step') {
  fork(SELF, ['child-step']);
  process.stdout.write('READY\n');
  void spin();
}

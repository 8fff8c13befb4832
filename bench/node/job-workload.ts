// The program bench/node/jobs.ts times (node job-workload.js MODE ...):
//   idle N WORK   forks N children (child_process.fork of this file), each adding up WORK numbers and ending;
//                 prints {"ms": ...} once all have ended
//   step          forks one child; both call tick() forever (the bench steps in one or the other)
//   child WORK | child-step   what a forked child runs
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

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

const [mode, a, b] = process.argv.slice(2);
if (mode === 'child') {
  work(Number(a));
  process.exit(0);
} else if (mode === 'child-step') {
  void spin();
} else if (mode === 'idle') {
  const start = process.hrtime.bigint();
  const n = Number(a);
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve) => fork(SELF, ['child', String(b)]).on('exit', resolve))));
  process.stdout.write(`${JSON.stringify({ ms: Number(process.hrtime.bigint() - start) / 1e6 })}\n`);
} else if (mode === 'step') {
  fork(SELF, ['child-step']);
  process.stdout.write('READY\n');
  void spin();
}

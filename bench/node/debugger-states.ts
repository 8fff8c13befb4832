// `node dist/bench/node/debugger-states.js`: which state of V8's inspector makes async/await code slow. Each
// configuration runs in its own process (`node debugger-states.js STATE`): an inspector session of the process
// itself brings V8 into that state (no pause ever happens), then the async workload of bench/node/workload.ts runs
// five times and the median is printed. The parent prints every state beside the plain run. The reason the agent
// keeps V8's Debugger domain off while every breakpoint is compiled in (docs/performance.md, Node.js section).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { fileURLToPath } from 'node:url';

const STATES = ['none', 'session', 'enable', 'enable+depth0', 'enable+depth32', 'enable+bp', 'enable+inactive', 'enable+skip', 'enable+exceptions', 'enable+disable'];
const LABELS: Record<string, string> = {
  none: 'no inspector session',
  session: 'session connected, no domain',
  enable: 'Debugger.enable',
  'enable+depth0': '+ setAsyncCallStackDepth(0)',
  'enable+depth32': '+ setAsyncCallStackDepth(32)',
  'enable+bp': '+ a breakpoint never reached',
  'enable+inactive': '+ setBreakpointsActive(false)',
  'enable+skip': '+ setSkipAllPauses(true)',
  'enable+exceptions': '+ pause on uncaught exceptions',
  'enable+disable': 'Debugger.enable, then disable',
};
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 100_000);

async function hotAsync(x: number): Promise<number> {
  let y = x;
  for (let k = 0; k < 20; k++) y = ((y * 31) ^ (y >>> 3)) & 0xfffff;
  return y & 0xffff;
}

function neverCalled(): number {
  return 42; // @never (the breakpoint of enable+bp)
}

async function runAsync(): Promise<number> {
  let acc = 0;
  for (let i = 0; i < ITERATIONS; i++) acc = (acc + (await hotAsync(i))) | 0;
  return acc;
}

async function child(state: string): Promise<void> {
  const session = new inspector.Session();
  const post = (method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  if (state !== 'none') session.connect();
  for (const step of state === 'none' || state === 'session' ? [] : state.split('+')) {
    if (step === 'enable') await post('Debugger.enable');
    else if (step === 'disable') await post('Debugger.disable');
    else if (step === 'depth0') await post('Debugger.setAsyncCallStackDepth', { maxDepth: 0 });
    else if (step === 'depth32') await post('Debugger.setAsyncCallStackDepth', { maxDepth: 32 });
    else if (step === 'bp') await post('Debugger.setBreakpointByUrl', { url: import.meta.url, lineNumber: neverLine(), condition: '' });
    else if (step === 'inactive') await post('Debugger.setBreakpointsActive', { active: false });
    else if (step === 'skip') await post('Debugger.setSkipAllPauses', { skip: true });
    else if (step === 'exceptions') await post('Debugger.setPauseOnExceptions', { state: 'uncaught' });
  }
  await new Promise((resolve) => setTimeout(resolve, 200));
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    await runAsync();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`${times[2]}\n`);
  if (neverCalled() !== 42) process.exitCode = 1;
}

/** The 0-based line of `return 42` in this compiled file, by its marker. */
function neverLine(): number {
  return readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes('@never (the breakpoint'));
}

function parent(): void {
  console.log(`V8 inspector states and an async/await loop (${process.version}, ${ITERATIONS} awaited calls, median of 5 in each process)`);
  let base = 0;
  for (const state of STATES) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), state], { encoding: 'utf8' });
    const ms = Number(r.stdout.trim());
    if (state === 'none') base = ms;
    console.log(`  ${LABELS[state]!.padEnd(34)} ${ms.toFixed(1).padStart(9)} ms ${(ms / base).toFixed(2).padStart(7)}x`);
  }
}

const state = process.argv[2];
if (state) void child(state);
else parent();

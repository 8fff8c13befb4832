// npm run bench:node — what the Node.js agent costs a program. For a sync and an async/await workload it
// measures, in one run with interleaved repetitions (so machine noise hits every configuration alike):
//   plain        no agent at all (the baseline)
//   no client    enableAttach() listening, nobody attached (the program waits for a debugger to start, so the
//                driver attaches, configures and detaches before the timed part: it runs with nobody attached)
//   attached     a debugger attached, no breakpoints (the V8 Debugger domain stays off)
//   bp elsewhere a breakpoint in a function that is never called
//   cond false   a conditional breakpoint whose condition is false, inside the hot function
// and prints the median time of each and its ratio to plain.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/client/index.js';

const WORKLOAD = fileURLToPath(new URL('./workload.js', import.meta.url));
const REPS = Number(process.env.BENCH_REPS ?? 5);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 100_000);

type Config = 'plain' | 'no client' | 'attached' | 'bp elsewhere' | 'cond false';
const CONFIGS: Config[] = ['plain', 'no client', 'attached', 'bp elsewhere', 'cond false'];

function line(marker: string): number {
  const lines = readFileSync(WORKLOAD, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`@${marker}`));
  if (i < 0) throw new Error(`no @${marker} in ${WORKLOAD}`);
  return i + 1;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function once(kind: 'sync' | 'async', config: Config): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [WORKLOAD, kind, config === 'plain' ? 'plain' : 'agent', String(port), String(ITERATIONS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let session: Awaited<ReturnType<typeof connect>> | null = null;
  if (config !== 'plain') {
    for (let tries = 0; ; tries++) {
      try {
        session = await connect(`tcp://bench@127.0.0.1:${port}`, { timeoutMs: 10_000 });
        break;
      } catch (err) {
        if (tries > 200) throw err;
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    if (config !== 'no client') {
      const initialized = session.waitForEvent('initialized');
      await session.request('attach', { redirectOutput: false });
      await initialized;
      if (config === 'bp elsewhere') await session.request('setBreakpoints', { source: { path: WORKLOAD }, breakpoints: [{ line: line('never') }] });
      if (config === 'cond false') {
        const hot = line(kind === 'async' ? 'hot-async' : 'hot');
        await session.request('setBreakpoints', { source: { path: WORKLOAD }, breakpoints: [{ line: hot, condition: 'x < 0' }] });
      }
      await session.request('configurationDone');
    } else {
      // Listening with nobody attached: release the program (it waits for a debugger) and leave.
      const initialized = session.waitForEvent('initialized');
      await session.request('attach', { redirectOutput: false });
      await initialized;
      await session.request('configurationDone');
      await session.disconnect();
      session = null;
    }
  }
  await done;
  session?.close();
  const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { ms?: number };
  if (typeof result.ms !== 'number') throw new Error(`${kind}/${config}: no result (${out})`);
  return result.ms;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  console.log(`Node.js agent overhead (${process.version}, ${REPS} interleaved repetitions, ${ITERATIONS} iterations; medians)`);
  for (const kind of ['sync', 'async'] as const) {
    const times = new Map<Config, number[]>(CONFIGS.map((c) => [c, []]));
    for (let rep = 0; rep < REPS; rep++) {
      for (const config of CONFIGS) times.get(config)!.push(await once(kind, config));
    }
    const base = median(times.get('plain')!);
    console.log(`\n${kind} workload`);
    console.log(`  ${'configuration'.padEnd(14)} ${'median ms'.padStart(10)} ${'ratio'.padStart(7)}`);
    for (const config of CONFIGS) {
      const m = median(times.get(config)!);
      console.log(`  ${config.padEnd(14)} ${m.toFixed(1).padStart(10)} ${(m / base).toFixed(3).padStart(7)}x`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

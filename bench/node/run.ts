// npm run bench:node — what the Node.js agent costs a program. For a sync and an async/await workload it
// measures, in one run with interleaved repetitions (so machine noise hits every configuration alike):
//   plain        no agent at all (the baseline)
//   no client    enableAttach() listening, nobody attached (the program waits for a debugger to start, so the
//                driver attaches, configures and detaches before the timed part: it runs with nobody attached)
//   attached     a debugger attached, no breakpoints (the V8 Debugger domain stays off)
//   bp elsewhere a breakpoint in a function that is never called
//   cond false   a conditional breakpoint whose condition is false, inside the hot function (compiled into the
//                script: worker/script-edits.ts; V8's Debugger domain then goes off, see worker/session.ts)
//   cond V8      the same condition written over two lines, which the agent leaves to V8's own breakpoint
//                condition (the mechanism before compiled breakpoints, and their fallback)
// and prints the median time of each and its ratio to plain. Then an express service (service.ts) under autocannon:
// requests per second plain, attached, and with a false conditional breakpoint in its request path, compiled and V8's (cost =
// plain req/s / req/s). BENCH_SERVICE_SECONDS (default 5) sets the length of each load run; BENCH_ONLY=service
// runs only the service.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/client/index.js';

const WORKLOAD = fileURLToPath(new URL('./workload.js', import.meta.url));
const REPS = Number(process.env.BENCH_REPS ?? 5);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 100_000);

type Config = 'plain' | 'no client' | 'attached' | 'bp elsewhere' | 'cond false' | 'cond V8';
const CONFIGS: Config[] = ['plain', 'no client', 'attached', 'bp elsewhere', 'cond false', 'cond V8'];

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
      if (config === 'cond false' || config === 'cond V8') {
        const hot = line(kind === 'async' ? 'hot-async' : 'hot');
        await session.request('setBreakpoints', { source: { path: WORKLOAD }, breakpoints: [{ line: hot, condition: config === 'cond V8' ? 'x <\n 0' : 'x < 0' }] });
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

// ---- express service throughput (autocannon) ----
const SERVICE = fileURLToPath(new URL('./service.js', import.meta.url));
const SERVICE_SECONDS = Number(process.env.BENCH_SERVICE_SECONDS ?? 5);
// 'cond false' is compiled into the script (worker/script-edits.ts); 'cond V8' is the same condition written over two
// lines, which the agent leaves to V8's own breakpoint condition (the mechanism before, and the fallback).
type ServiceConfig = 'plain' | 'attached' | 'cond false' | 'cond V8';
const SERVICE_CONFIGS: ServiceConfig[] = ['plain', 'attached', 'cond false', 'cond V8'];

interface CannonResult {
  requests: { average: number };
  non2xx: number;
  errors: number;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: { url: string; connections: number; duration: number },
  done: (err: Error | null, result: CannonResult) => void,
) => unknown;

function serviceLine(): number {
  const source = fileURLToPath(new URL('../../../bench/node/service.ts', import.meta.url));
  const lines = readFileSync(source, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('@service'));
  if (i < 0) throw new Error('no @service marker');
  return i + 1;
}

/** Requests per second of one fresh service process under `config`. */
async function serviceOnce(config: ServiceConfig): Promise<number> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVICE, config === 'plain' ? 'plain' : 'agent', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`service exited early: ${out}`)));
  });
  let session: Awaited<ReturnType<typeof connect>> | null = null;
  try {
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
      const initialized = session.waitForEvent('initialized');
      await session.request('attach', { redirectOutput: false });
      await initialized;
      if (config === 'cond false' || config === 'cond V8') {
        // the compiled service.js: the breakpoint goes on the TypeScript line, through the source map
        const set = (await session.request('setBreakpoints', {
          source: { path: fileURLToPath(new URL('../../../bench/node/service.ts', import.meta.url)) },
          breakpoints: [{ line: serviceLine(), condition: config === 'cond V8' ? 'id <\n 0' : 'id < 0' }],
        })) as { breakpoints: { verified: boolean; message?: string }[] };
        if (!set.breakpoints[0]?.verified) throw new Error(`service breakpoint not placed: ${set.breakpoints[0]?.message}`);
      }
      await session.request('configurationDone');
    }
    const httpPort = await listening;
    const url = `http://127.0.0.1:${httpPort}/item/7`;
    await new Promise<void>((resolve, reject) => autocannon({ url, connections: 10, duration: 1 }, (err) => (err ? reject(err) : resolve())));
    const result = await new Promise<CannonResult>((resolve, reject) =>
      autocannon({ url, connections: 10, duration: SERVICE_SECONDS }, (err, r) => (err ? reject(err) : resolve(r))),
    );
    if (result.non2xx || result.errors) throw new Error(`service answered ${result.non2xx} non-2xx, ${result.errors} errors`);
    return result.requests.average;
  } finally {
    session?.close();
    child.kill();
  }
}

async function serviceBench(): Promise<void> {
  const reps = Math.max(1, Math.min(REPS, 3));
  const rps = new Map<ServiceConfig, number[]>(SERVICE_CONFIGS.map((c) => [c, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const config of SERVICE_CONFIGS) rps.get(config)!.push(await serviceOnce(config));
  }
  const base = median(rps.get('plain')!);
  console.log(`
express service, GET /item/:id, 10 connections, ${SERVICE_SECONDS} s per run, ${reps} interleaved repetitions (autocannon)`);
  console.log(`  ${'configuration'.padEnd(14)} ${'median req/s'.padStart(12)} ${'cost'.padStart(7)}`);
  for (const config of SERVICE_CONFIGS) {
    const m = median(rps.get(config)!);
    console.log(`  ${config.padEnd(14)} ${m.toFixed(0).padStart(12)} ${(base / m).toFixed(3).padStart(7)}x`);
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  console.log(`Node.js agent overhead (${process.version}, ${REPS} interleaved repetitions, ${ITERATIONS} iterations; medians)`);
  for (const kind of process.env.BENCH_ONLY === 'service' ? [] : (['sync', 'async'] as const)) {
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
  await serviceBench();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

// npm run bench:node-jobs — what a Node.js job (docs/protocol.md 5.3) costs, printed side by side:
// 1. A step round trip (`next` -> `stopped`) in the root, reached directly (?pid= of the root: its own session),
//    and in a forked child reached through the root's gateway relay (?pid= of the child: the root's port,
//    longreach/selectProcess, the child's agent behind the job's Unix socket): medians and the difference.
// 2. An idle job of 16 forked processes (fixed CPU work each) under `node --import longreach/register` with nobody
//    attached, against the same job run plainly: runs interleaved none, agent, none, each agent run compared with
//    the mean of its two neighbours; the median ratio of the wall time and of the CPU time of the whole job (its
//    processes' and threads' CPU seconds from getrusage, counted from the program's start: it barely moves when
//    other work shares the machine, where the wall time does). Linux (/proc/self/stat). Two jobs by default
//    (BENCH_WORK, a comma-separated list of each child's numbers to add up): children of 20,000,000 (about 20 ms of
//    work: the job is mostly Node.js starting 17 processes, so it shows the agent's fixed costs) and of
//    2,000,000,000 (about 2 s each: processes that work; nobody asks for the job, so none of them joins it).
// 3. What one child costs: the CPU time of `node job-workload.js child 0` (ends at once, in a job nobody has asked
//    for: it never joins) and of `linger 2000` (lives 2 s in a job that is awake: this bench makes the job's `awake`
//    file, as a client's first listing would, so it joins the job, dormant, at its start) run plainly, as a child
//    of a running job (its LONGREACH_JOB and NODE_OPTIONS: the CommonJS hook where require(esm) exists), the same
//    with `--import` of register.js in NODE_OPTIONS instead (what a Node.js without require(esm) gets), and plainly
//    with `--require` of an empty file (what any preload costs a Node.js process: the floor under the hook's cost),
//    interleaved; medians and means of BENCH_CHILD_REPS (default 11), and the means' differences from the plain
//    run.
// BENCH_STEPS (default 200) and BENCH_REPS (default 5) set the sizes; BENCH_ONLY=relay, idle or child runs one part.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { connect, listProcesses } from '../../src/client/index.js';

const WORKLOAD = fileURLToPath(new URL('./job-workload.js', import.meta.url));
const REGISTER = fileURLToPath(new URL('../../src/agent-node/register.js', import.meta.url));
const STEPS = Number(process.env.BENCH_STEPS ?? 200);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const SECRET = 'bench-secret';

function line(marker: string): number {
  return readFileSync(WORKLOAD, 'utf8').split('\n').findIndex((l) => l.includes(`@${marker}`)) + 1;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** Median `next` round trip (ms) in process `pid` of the job listening on `port`. */
async function steps(port: number, pid: number): Promise<number> {
  const session = await connect(`tcp://${SECRET}@127.0.0.1:${port}?pid=${pid}`, { timeoutMs: 20_000 });
  const initialized = session.waitForEvent('initialized');
  await session.request('attach', { redirectOutput: false });
  await initialized;
  let stopped = session.waitForEvent<{ threadId: number }>('stopped');
  await session.request('setBreakpoints', { source: { path: WORKLOAD }, breakpoints: [{ line: line('step-a') }] });
  await session.request('configurationDone');
  const { threadId } = await stopped;
  const times: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    stopped = session.waitForEvent('stopped');
    const t0 = performance.now();
    await session.request('next', { threadId });
    await stopped;
    times.push(performance.now() - t0);
    stopped = session.waitForEvent('stopped');
    await session.request('continue', { threadId });
    await stopped;
  }
  await session.request('setBreakpoints', { source: { path: WORKLOAD }, breakpoints: [] });
  await session.disconnect();
  return median(times);
}

async function relayBench(): Promise<void> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', REGISTER, WORKLOAD, 'step'], {
    env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let rows: { pid: number }[] = [];
    for (let tries = 0; rows.length < 2 && tries < 200; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        rows = (await listProcesses(`tcp://${SECRET}@127.0.0.1:${port}`, { timeoutMs: 5_000 })).flatMap((r) => (r.ok ? [{ pid: r.pid }] : []));
      } catch {
        rows = [];
      }
    }
    if (rows.length < 2) throw new Error('the job never listed its child');
    const direct = await steps(port, child.pid!);
    const relayed = await steps(port, rows.find((r) => r.pid !== child.pid)!.pid);
    console.log(`step round trip (next -> stopped), median of ${STEPS}:`);
    console.log(`  direct (the root)          ${direct.toFixed(3)} ms`);
    console.log(`  through the gateway relay  ${relayed.toFixed(3)} ms   (+${(relayed - direct).toFixed(3)} ms)`);
  } finally {
    child.kill('SIGKILL');
  }
}

/** The clock ticks of /proc/PID/stat's times (sysconf CLK_TCK). */
function clockTicks(): string {
  try {
    return execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || '100';
  } catch {
    return '100';
  }
}

const CLK_TCK = clockTicks();

/** One run of the idle job: its wall time and the CPU time of all its processes (ms), from the program's start. */
async function idleOnce(agent: boolean, work: number): Promise<{ ms: number; cpuMs: number }> {
  const port = await freePort();
  const args = [...(agent ? ['--import', REGISTER] : []), WORKLOAD, 'idle', '16', String(work)];
  const child = spawn(process.execPath, args, { env: { ...process.env, CLK_TCK, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((resolve) => child.on('exit', resolve));
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { ms: number; cpuMs: number };
}

async function idleBench(work: number): Promise<void> {
  const plain: number[] = [];
  const agent: number[] = [];
  const plainCpu: number[] = [];
  const agentCpu: number[] = [];
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let i = 0; i < REPS; i++) {
    // none, agent, none: load on the machine that comes and goes hits the agent's run and its neighbours alike
    const before = await idleOnce(false, work);
    const a = await idleOnce(true, work);
    const after = await idleOnce(false, work);
    plain.push(before.ms, after.ms);
    plainCpu.push(before.cpuMs, after.cpuMs);
    agent.push(a.ms);
    agentCpu.push(a.cpuMs);
    ratios.push(a.ms / ((before.ms + after.ms) / 2));
    cpuRatios.push(a.cpuMs / ((before.cpuMs + after.cpuMs) / 2));
  }
  console.log(`idle 16-process job (fork, nobody attached; each child adds up ${work.toLocaleString('en-US')} numbers), median of ${REPS} (none, agent, none interleaved):`);
  console.log(`  plain node                       ${median(plain).toFixed(0)} ms wall   ${median(plainCpu).toFixed(0)} ms CPU`);
  console.log(`  --import longreach/register      ${median(agent).toFixed(0)} ms wall   ${median(agentCpu).toFixed(0)} ms CPU`);
  console.log(`  ratio (target <= 1.02x)          ${median(ratios).toFixed(3)}x wall   ${median(cpuRatios).toFixed(3)}x CPU time of the job`);
  console.log(`  each repetition (wall / CPU)     ${ratios.map((r, i) => `${r.toFixed(2)}/${cpuRatios[i]!.toFixed(2)}`).join(' ')}`);
}

/** CPU ms of this process's ended children (getrusage CHILDREN, from /proc/self/stat). */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / Number(CLK_TCK);
}

async function childBench(): Promise<void> {
  const reps = Number(process.env.BENCH_CHILD_REPS ?? 11);
  const port = await freePort();
  const root = spawn(process.execPath, ['--import', REGISTER, WORKLOAD, 'root'], { env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'inherit'] });
  const scratch = mkdtempSync(join(tmpdir(), 'longreach-bench-'));
  try {
    const first = await new Promise<string>((resolve) => root.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    const { job, nodeOptions } = JSON.parse(first) as { job: string; nodeOptions: string };
    const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LONGREACH_') && k !== 'NODE_OPTIONS'));
    // the job's own NODE_OPTIONS (the hook it names: --require of hook.cjs where require(esm) exists), and the
    // --import of register.js that a Node.js without require(esm) gets, side by side
    const empty = join(scratch, 'empty.cjs');
    writeFileSync(empty, '');
    const kinds = [
      ['plain', plainEnv],
      ['preload', { ...plainEnv, NODE_OPTIONS: `--require=${empty}` }],
      ['member', { ...plainEnv, LONGREACH_JOB: job, NODE_OPTIONS: nodeOptions }],
      ['import', { ...plainEnv, LONGREACH_JOB: job, NODE_OPTIONS: `--import=${pathToFileURL(REGISTER).href}` }],
    ] as const;
    // each run with the job asleep (nobody asked for it: a child never joins) or awake (its `awake` file, which the
    // root's gateway makes when a client first asks for the job: a child joins at its start)
    const awake = join(dirname((JSON.parse(job) as { socket: string }).socket), 'awake');
    const runs = { 'child 0': { args: ['child', '0'], woken: false }, 'linger 2000': { args: ['linger', '2000'], woken: true } };
    const cpu = new Map<string, number[]>();
    for (let i = 0; i < reps; i++) {
      for (const [name, { args, woken }] of Object.entries(runs)) {
        if (woken) writeFileSync(awake, '', { mode: 0o600 });
        else rmSync(awake, { force: true });
        for (const [kind, env] of kinds) {
          const before = childrenCpuMs();
          const r = spawnSync(process.execPath, [WORKLOAD, ...args], { env, stdio: 'ignore' });
          if (r.status !== 0) throw new Error(`${name} (${kind}) ended with ${r.status}`);
          const key = `${name} ${kind}`;
          cpu.set(key, [...(cpu.get(key) ?? []), childrenCpuMs() - before]);
        }
      }
    }
    const mean = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
    console.log(`CPU time of one child process, median and mean of ${reps} (clock ticks of ${(1000 / Number(CLK_TCK)).toFixed(0)} ms: the mean is good to a tick / ${reps}):`);
    console.log(`  NODE_OPTIONS of the job: ${nodeOptions.replace(/(?<=[="])[^="]*\/dist\//g, '.../dist/')}`);
    console.log('  child 0: a job nobody has asked for (the child does not join); linger 2000: the job awake (it joins at its start)');
    for (const name of Object.keys(runs)) {
      const [plain, preload, member, imported] = kinds.map(([kind]) => cpu.get(`${name} ${kind}`)!);
      const figure = (xs: number[]): string => `${median(xs).toFixed(0)} / ${mean(xs).toFixed(1)} ms (+${(mean(xs) - mean(plain!)).toFixed(1)})`;
      console.log(`  ${name.padEnd(12)} plain ${median(plain!).toFixed(0)} / ${mean(plain!).toFixed(1)} ms   --require of an empty file ${figure(preload!)}   a child of the job ${figure(member!)}   with --import of register.js ${figure(imported!)}`);
    }
  } finally {
    root.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  }
}

const only = process.env.BENCH_ONLY;
if (!only || only === 'relay') await relayBench();
if (!only || only === 'idle') for (const work of (process.env.BENCH_WORK ?? '20000000,2000000000').split(',').map(Number)) await idleBench(work);
if (!only || only === 'child') await childBench();

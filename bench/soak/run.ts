// npm run bench:soak — does an agent give back what each debugging session took, and does a re-attach stop as
// promptly as the first attach? For each agent, a busy program (work() every 2 ms, a line of output every second)
// goes through CYCLES attach/detach cycles: half of them set a breakpoint in work(), wait for the stop and evaluate
// an expression, a quarter of all cycles vanish while stopped (the socket just closes), the other half attach,
// configure and detach. It prints, side by side, the program's resident memory after the warm-up and at the end,
// the growth per cycle (the least-squares slope of RSS sampled every 10 cycles after the warm-up; target: at most
// 1 KB), the stop latency (setBreakpoints sent -> stopped received) of the first attach, the median and slowest of
// the re-attaches, and how long attaching took. The Node.js program runs with --expose-gc and a fixed young
// generation so that resident memory follows live memory rather than V8's heap sizing.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect, LongreachError, type ClientSession } from '../../src/client/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CYCLES = Number(process.env.SOAK_CYCLES ?? 1000);
const WARMUP = Math.min(Number(process.env.SOAK_WARMUP ?? 200), Math.floor(CYCLES / 2));
const PYTHON = process.env.SOAK_PYTHON ?? 'python3';
const SECRET = 'soak-secret';

interface Agent {
  name: string;
  file: string;
  /** Evaluated at the stop, in work()'s frame. */
  expression: string;
  start(port: number): ChildProcess;
}

const PY_FILE = `${ROOT}bench/soak/busy.py`;
const NODE_FILE = fileURLToPath(new URL('./busy.js', import.meta.url));
const AGENTS: Agent[] = [
  {
    name: `python ${PYTHON.replace(/^.*versions\/([^/]+).*$/, "$1")}`,
    file: PY_FILE,
    expression: 'i + 1',
    start: (port) => spawn(PYTHON, ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_SOAK', PY_FILE], {
      env: { ...process.env, PYTHONPATH: `${ROOT}python`, LR_SOAK: SECRET },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  },
  {
    name: `node (${process.version})`,
    file: NODE_FILE,
    expression: 'n + 1',
    start: (port) => spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=1', '--import', `${ROOT}dist/src/agent-node/register.js`, NODE_FILE], {
      env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  },
];

function markerLine(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`@${marker}`));
  if (i < 0) throw new Error(`no @${marker} in ${file}`);
  return i + 1;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function attach(port: number): Promise<ClientSession> {
  for (let tries = 0; ; tries++) {
    try {
      const s = await connect(`tcp://127.0.0.1:${port}`, { secret: SECRET, timeoutMs: 10_000 });
      const initialized = s.waitForEvent('initialized', { timeoutMs: 10_000 });
      initialized.catch(() => undefined); // awaited below unless attach fails
      try {
        await s.request('attach', {});
      } catch (err) {
        s.close();
        throw err;
      }
      await initialized;
      return s;
    } catch (err) {
      // the agent is still starting, or has not yet noticed that the vanished client is gone
      const again = err instanceof LongreachError && ['LR_REFUSED', 'LR_ALREADY_ATTACHED', 'LR_CLOSED'].includes(err.code);
      if (!again || tries > 400) throw err;
      await sleep(25);
    }
  }
}

/** Least-squares slope of y over x: growth per cycle that one noisy sample at either end cannot swing. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : NaN;
}

interface Result {
  agent: string;
  rssWarm: number;
  rssEnd: number;
  perCycle: number;
  firstStopMs: number;
  reattachStopMs: number;
  slowestStopMs: number;
  attachMs: number;
  slowestAttachMs: number;
  seconds: number;
}

async function soak(agent: Agent): Promise<Result> {
  const port = await freePort();
  const child = agent.start(port);
  child.stdout?.resume();
  const pid = child.pid!;
  const line = markerLine(agent.file, 'work');
  const latencies: number[] = [];
  const attachMs: number[] = [];
  const samples: [number, number][] = []; // (cycle, RSS bytes) every 10 cycles after the warm-up
  let rssWarm = 0;
  const started = Date.now();
  let cycle = 0;
  try {
    for (; cycle < CYCLES; cycle++) {
      if (cycle === WARMUP) rssWarm = rssKb(pid);
      if (cycle >= WARMUP && cycle % 10 === 0) samples.push([cycle, rssKb(pid) * 1024]);
      if (process.env.SOAK_TRACE && cycle % 100 === 0) console.error(`${agent.name} cycle ${cycle}: RSS ${(rssKb(pid) / 1024).toFixed(1)} MB`);
      const a0 = performance.now();
      const s = await attach(port);
      attachMs.push(performance.now() - a0);
      if (cycle % 2 === 0) {
        const stopped = s.waitForEvent('stopped', { timeoutMs: 10_000 });
        const t0 = performance.now();
        await s.request('setBreakpoints', { source: { path: agent.file }, breakpoints: [{ line }] });
        await s.request('configurationDone');
        const stop = await stopped;
        latencies.push(performance.now() - t0);
        const { stackFrames } = await s.request('stackTrace', { threadId: stop.threadId, levels: 1 });
        await s.request('evaluate', { expression: agent.expression, frameId: stackFrames[0].id, context: 'repl' });
        if (cycle % 4 === 0) {
          s.close(); // vanish while stopped
          continue;
        }
      } else {
        await s.request('configurationDone');
      }
      await s.disconnect();
    }
    const rssEnd = rssKb(pid);
    return {
      agent: agent.name,
      rssWarm,
      rssEnd,
      perCycle: slope([...samples, [CYCLES, rssEnd * 1024]]),
      firstStopMs: latencies[0] ?? NaN,
      reattachStopMs: median(latencies.slice(1)),
      slowestStopMs: Math.max(...latencies.slice(1)),
      attachMs: median(attachMs),
      slowestAttachMs: Math.max(...attachMs),
      seconds: (Date.now() - started) / 1000,
    };
  } catch (err) {
    if (err instanceof Error) err.message = `${agent.name}, cycle ${cycle}: ${err.message}`;
    throw err;
  } finally {
    child.kill('SIGKILL');
  }
}

const only = process.argv[2];
const results: Result[] = [];
for (const agent of AGENTS) {
  if (only && !agent.name.startsWith(only)) continue;
  results.push(await soak(agent));
}
const fmt = (n: number, digits = 0): string => n.toFixed(digits);
console.log(`soak: ${CYCLES} attach/detach cycles per agent (RSS measured after ${WARMUP} warm-up cycles and at the end)`);
console.log(['agent'.padEnd(28), 'RSS warm'.padStart(10), 'RSS end'.padStart(10), 'per cycle'.padStart(11), 'first stop'.padStart(11), 're-attach stop: median'.padStart(23), 'slowest'.padStart(9), 'attach: median'.padStart(15), 'slowest'.padStart(9), 'time'.padStart(7)].join(' '));
for (const r of results) {
  console.log([
    r.agent.padEnd(28),
    `${fmt(r.rssWarm / 1024, 1)} MB`.padStart(10),
    `${fmt(r.rssEnd / 1024, 1)} MB`.padStart(10),
    `${fmt(r.perCycle)} B`.padStart(11),
    `${fmt(r.firstStopMs, 1)} ms`.padStart(11),
    `${fmt(r.reattachStopMs, 1)} ms`.padStart(23),
    `${fmt(r.slowestStopMs, 0)} ms`.padStart(9),
    `${fmt(r.attachMs, 1)} ms`.padStart(15),
    `${fmt(r.slowestAttachMs, 0)} ms`.padStart(9),
    `${fmt(r.seconds, 0)} s`.padStart(7),
  ].join(' '));
}
console.log('targets: at most 1 KB per cycle; a re-attach stops as promptly as the first attach');

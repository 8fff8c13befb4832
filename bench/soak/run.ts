// npm run bench:soak — does an agent give back what each debugging session took, and does a re-attach stop as
// promptly as the first attach? For each agent, a busy program (work() every 2 ms, a line of output every second)
// goes through CYCLES (4000) attach/detach cycles: half of them set a breakpoint in work(), wait for the stop and
// evaluate an expression, a quarter of all cycles vanish while stopped (the socket just closes), the other half
// attach, configure and detach. Every 8 cycles from cycle 200 on the program is asked (SIGUSR2) to run a full
// collection and answers with its live heap; its resident memory is read right after. The growth per cycle is the
// least-squares slope over the samples of the second half, cycles WARMUP (2000) to CYCLES (target: at most 1 KB for RSS),
// once V8 and glibc have settled (a Node.js program's RSS grows over its first few thousand cycles, by less each
// thousand: compiled code, old-space pages, malloc arenas; docs/performance.md), printed for RSS, for the program's
// heap (Node.js main thread) and for the agent's own heap (the Node.js agent's worker, which collects every 8
// detaches under --expose-gc and logs its live heap then: LONGREACH_LOG=agent); the RSS slope over cycles 200-1200
// is printed beside it. It also prints the stop latency (setBreakpoints sent -> stopped received) of the first
// attach, the median and slowest of the re-attaches, and how long attaching took. The Node.js program runs with
// --expose-gc and a fixed young generation so that resident memory follows live memory rather than V8's heap
// sizing. SOAK_CYCLES and SOAK_WARMUP change the sizes.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, LongreachError, type ClientSession } from '../../src/client/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CYCLES = Number(process.env.SOAK_CYCLES ?? 4000);
/** Cycles before the measured ones (the first half): V8 and glibc settle (compiled code, old-space pages, arenas) over the first few thousand. */
const WARMUP = Math.min(Number(process.env.SOAK_WARMUP ?? CYCLES / 2), Math.floor(CYCLES / 2));
/** The first sample; the slope over the 1000 cycles from here is printed too (the growth before things settle). */
const EARLY = Math.min(200, WARMUP);
const PYTHON = process.env.SOAK_PYTHON ?? 'python3';
const SECRET = 'soak-secret';

interface Agent {
  name: string;
  file: string;
  /** Evaluated at the stop, in work()'s frame. */
  expression: string;
  start(port: number, logFile: string): ChildProcess;
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
    start: (port, logFile) => spawn(process.execPath, ['--expose-gc', '--max-semi-space-size=1', '--import', `${ROOT}dist/src/agent-node/register.js`, NODE_FILE], {
      env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET, LONGREACH_LOG: 'agent', LONGREACH_LOG_FILE: logFile },
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

/** The slope over the points from cycle `from` (before `to`): the growth per cycle in that stretch of the run. */
function slopeFrom(points: [number, number][], from: number, to = Infinity): number {
  const part = points.filter(([x]) => x >= from && x < to);
  return part.length >= 2 ? slope(part) : NaN;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)]! : NaN;
}

interface Result {
  agent: string;
  rssWarm: number;
  rssEnd: number;
  rssPerCycle: number;
  rssEarlyPerCycle: number;
  heapPerCycle: number;
  agentHeapPerCycle: number;
  firstStopMs: number;
  reattachStopMs: number;
  slowestStopMs: number;
  attachMs: number;
  slowestAttachMs: number;
  seconds: number;
}

const SAMPLE_TIMEOUT_MS = 5_000;
/**
 * Samples are taken before every 8th cycle: the cycle before it ended with an answered disconnect (not a vanished
 * client the agent may not have noticed yet), and the Node.js agent's worker has just collected (every 8 detaches).
 */
const SAMPLE_EVERY = 8;

/** Asks the program for a full collection (SIGUSR2) and waits for its answer: its live and its whole heap in bytes
 * (NaN where it cannot say). */
function collector(child: ChildProcess): () => Promise<[number, number]> {
  const waiting: ((heap: [number, number]) => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = /^heap (\S+) (\S+)$/.exec(line);
    if (m) waiting.shift()?.([Number(m[1]), Number(m[2])]);
  });
  return () =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the program did not answer SIGUSR2 within ${SAMPLE_TIMEOUT_MS} ms`)), SAMPLE_TIMEOUT_MS);
      waiting.push((heap) => {
        clearTimeout(timer);
        resolve(heap);
      });
      child.kill('SIGUSR2');
    });
}

/** (sessions, live bytes, resident bytes) from the agent's log lines "agent heap after N sessions: B bytes (R resident)". */
function agentHeap(logFile: string): [number, number, number][] {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  return [...text.matchAll(/agent heap after (\d+) sessions: (\d+) bytes \((\d+) resident\)/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);
}

async function soak(agent: Agent): Promise<Result> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lr-soak-'));
  const logFile = join(dir, 'agent.log');
  const child = agent.start(port, logFile);
  const collect = collector(child);
  const pid = child.pid!;
  const line = markerLine(agent.file, 'work');
  const latencies: number[] = [];
  const attachMs: number[] = [];
  const rss: [number, number][] = []; // (cycle, RSS bytes) every SAMPLE_EVERY cycles from EARLY on, each after a collection
  const heap: [number, number][] = []; // (cycle, the program's live heap in bytes), where it says
  const heapTotal: [number, number][] = []; // (cycle, the program's whole heap in bytes), where it says
  let rssWarm = 0;
  const started = Date.now();
  let cycle = 0;
  const sample = async (): Promise<void> => {
    const [live, total] = await collect();
    const kb = rssKb(pid);
    rss.push([cycle, kb * 1024]);
    if (Number.isFinite(live)) heap.push([cycle, live]);
    if (Number.isFinite(total)) heapTotal.push([cycle, total]);
    if (cycle === WARMUP) rssWarm = kb;
  };
  try {
    for (; cycle < CYCLES; cycle++) {
      if (cycle >= EARLY && cycle % SAMPLE_EVERY === 0) await sample();
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
    await sample();
    const agentHeapSamples = agentHeap(logFile);
    if (process.env.SOAK_SAMPLES) {
      // every sample, for plotting: SOAK_SAMPLES=FILE appends one JSON line per agent
      appendFileSync(process.env.SOAK_SAMPLES, `${JSON.stringify({ agent: agent.name, cycles: CYCLES, rss, heap, heapTotal, agentHeap: agentHeapSamples })}\n`);
    }
    return {
      agent: agent.name,
      rssWarm,
      rssEnd: rss[rss.length - 1]![1] / 1024,
      rssPerCycle: slopeFrom(rss, WARMUP),
      rssEarlyPerCycle: slopeFrom(rss, EARLY, EARLY + 1000),
      heapPerCycle: slopeFrom(heap, WARMUP),
      agentHeapPerCycle: slopeFrom(agentHeapSamples.map(([n, live]) => [n, live]), WARMUP),
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
    rmSync(dir, { recursive: true, force: true });
  }
}

const only = process.argv[2];
const results: Result[] = [];
for (const agent of AGENTS) {
  if (only && !agent.name.startsWith(only)) continue;
  results.push(await soak(agent));
}
const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const bytes = (n: number): string => (Number.isFinite(n) ? `${fmt(n)} B` : '–');
console.log(`soak: ${CYCLES} attach/detach cycles per agent (RSS after ${WARMUP} warm-up cycles and at the end; growth per cycle: slope over cycles ${WARMUP}-${CYCLES}, and over ${EARLY}-${EARLY + 1000} before things settle; each sample right after a full collection)`);
console.log(['agent'.padEnd(28), 'RSS warm'.padStart(10), 'RSS end'.padStart(10), 'RSS/cycle'.padStart(10), `${EARLY}-${EARLY + 1000}`.padStart(10), 'heap/cycle'.padStart(11), 'agent heap'.padStart(11), 'first stop'.padStart(11), 're-attach stop: median'.padStart(23), 'slowest'.padStart(9), 'attach: median'.padStart(15), 'slowest'.padStart(9), 'time'.padStart(7)].join(' '));
for (const r of results) {
  console.log([
    r.agent.padEnd(28),
    `${fmt(r.rssWarm / 1024, 1)} MB`.padStart(10),
    `${fmt(r.rssEnd / 1024, 1)} MB`.padStart(10),
    bytes(r.rssPerCycle).padStart(10),
    bytes(r.rssEarlyPerCycle).padStart(10),
    bytes(r.heapPerCycle).padStart(11),
    bytes(r.agentHeapPerCycle).padStart(11),
    `${fmt(r.firstStopMs, 1)} ms`.padStart(11),
    `${fmt(r.reattachStopMs, 1)} ms`.padStart(23),
    `${fmt(r.slowestStopMs, 0)} ms`.padStart(9),
    `${fmt(r.attachMs, 1)} ms`.padStart(15),
    `${fmt(r.slowestAttachMs, 0)} ms`.padStart(9),
    `${fmt(r.seconds, 0)} s`.padStart(7),
  ].join(' '));
}
console.log(`targets: RSS at most 1 KB per cycle over the ${CYCLES - WARMUP} cycles after the warm-up; a re-attach stops as promptly as the first attach`);
console.log("heap/cycle: the Node.js program's main-thread heap; agent heap: the Node.js agent's worker (– where the agent has none of its own)");

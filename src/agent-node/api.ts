// The public API (ptvsd 3 names in JavaScript style): enableAttach, waitForAttach, waitForAttachAsync,
// breakIntoDebugger, isAttached. Everything runs in the main thread; the debug server itself lives in a worker.

import { Worker } from 'node:worker_threads';
import { LongreachError } from '../protocol/errors.js';
import { loadServerTls } from '../protocol/tls.js';
import { connectConfig } from './connect-options.js';
import type { JobConfig } from './job/config.js';
import { memberBoot, prepareRoot, publishOff, publishRoot, removeRoot, type MemberBoot } from './job/main-thread.js';
import { AGENT_GLOBAL, DORMANT, SLOT, createSharedState, readResult, slots, type ToWorker, type WorkerConfig } from './shared.js';

export interface EnableAttachOptions {
  /** Required: the shared secret, or null to let anyone attach (warns when listening beyond loopback). */
  secret: string | null;
  host?: string;
  port?: number;
  certfile?: string;
  keyfile?: string;
  /** Send the program's stdout/stderr to the client as output events (they still go to the real streams). */
  redirectOutput?: boolean;
  /** Accept a secret in the attach arguments over plain tcp:// (docs/protocol.md 4.2). */
  allowPlainSecret?: boolean;
  /** Reverse connect: dial a hub (`longreach listen`) at "HOST:PORT" instead of listening (docs/protocol.md 11). */
  connect?: string | { host: string; port: number };
  /** With connect: trust the hub's TLS certificate by this CA file, or by its pinned fingerprint (sha256:HEX). */
  ca?: string;
  fingerprint?: string;
  /** Follow child processes (child_process.fork, cluster workers, spawn of node): they join this process's job,
   * reached through its one address (docs/protocol.md 5.3). Default true; LONGREACH_SUBPROCESS=0 with --import. */
  subprocess?: boolean;
}

export interface BoundAddress {
  host: string;
  port: number;
}

const START_TIMEOUT_MS = 10_000;
const BREAK_TIMEOUT_MS = 2_000;
const EXIT_FLUSH_MS = 1_000;

interface Agent {
  worker: Worker;
  state: SharedArrayBuffer;
  slots: Int32Array;
  address: BoundAddress;
  /** A member of a job (docs/protocol.md 5.3): its worker dials the root's gateway instead of listening. */
  member?: boolean;
}

let agent: Agent | null = null;

function bad(name: string, what: string): never {
  throw new LongreachError('LR_BAD_OPTION', `${name} ${what}`);
}

function validate(options: EnableAttachOptions): void {
  if (options === null || typeof options !== 'object') bad('enableAttach', 'needs an options object: enableAttach({ secret, host, port })');
  if (!('secret' in options) || options.secret === undefined) {
    throw new LongreachError('LR_SECRET_REQUIRED', 'enableAttach needs a secret: pass { secret: "..." }, or { secret: null } to let anyone attach');
  }
  if (options.secret !== null && (typeof options.secret !== 'string' || options.secret === '')) bad('secret', 'must be a non-empty string, or null to let anyone attach');
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) bad('port', 'must be an integer from 0 to 65535 (0 picks a free port)');
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) bad('host', 'must be a non-empty string such as "127.0.0.1" or "0.0.0.0"');
  if ((options.certfile === undefined) !== (options.keyfile === undefined)) bad(options.certfile === undefined ? 'keyfile' : 'certfile', 'needs its partner: pass both certfile and keyfile (make them with: longreach cert create)');
  if (options.subprocess !== undefined && typeof options.subprocess !== 'boolean') bad('subprocess', 'must be true (follow child processes, the default) or false');
}

/** Starts the debug server and returns the address it bound. Synchronous; throws LongreachError on bad input. */
export function enableAttach(options: EnableAttachOptions): BoundAddress {
  if (agent?.member || DORMANT in globalThis) leaveJob(); // a child of a debugged job that listens itself is its own job from now on
  if (agent) throw new LongreachError('LR_ALREADY_ENABLED', `the debug server is already listening on ${agent.address.host}:${agent.address.port} in this process; call enableAttach once`);
  validate(options);
  const connect = connectConfig(options);
  const tls = options.certfile !== undefined && options.keyfile !== undefined ? loadServerTls({ certFile: options.certfile, keyFile: options.keyfile }).options : undefined;
  const state = createSharedState();
  const config: WorkerConfig & { tls?: { cert: string; key: string } } = {
    state,
    secret: options.secret,
    host: options.host ?? '0.0.0.0',
    port: options.port ?? 5678,
    allowPlainSecret: options.allowPlainSecret ?? false,
    redirectOutput: options.redirectOutput ?? true,
    apiUrl: import.meta.url,
    argv: [...process.argv],
  };
  if (tls) config.tls = { cert: String(tls.cert), key: String(tls.key) };
  if (connect) config.connect = connect;
  const job = options.subprocess === false ? null : prepareRoot();
  if (job) config.job = job;
  const worker = startWorker(config);
  const shared = slots(state);
  const outcome = Atomics.wait(shared, SLOT.STATE, 0, START_TIMEOUT_MS);
  const status = Atomics.load(shared, SLOT.STATE);
  if (outcome === 'timed-out' || status === 0) {
    void worker.terminate();
    if (job) removeRoot(job);
    throw new LongreachError('LR_TIMEOUT', `the debug server did not start within ${START_TIMEOUT_MS / 1000} s; set LONGREACH_LOG=all for details`);
  }
  const result = readResult(state) as { host?: string; port?: number; code?: string; message?: string };
  if (status === 2) {
    void worker.terminate();
    if (job) removeRoot(job);
    throw new LongreachError((result.code as never) ?? 'LR_INTERNAL', result.message ?? 'the debug server failed to start');
  }
  agent = { worker, state, slots: shared, address: { host: result.host!, port: result.port! } };
  installHelpers(agent);
  if (job) publishRoot(job, config.redirectOutput);
  else publishOff();
  // A default-host warning about no secret is printed by the server core inside the worker; it is the one line we write.
  return { ...agent.address };
}

function startWorker(config: WorkerConfig): Worker {
  const worker = new Worker(new URL('./worker/main.js', import.meta.url), {
    workerData: config,
    execArgv: [],
    env: process.env,
    name: 'longreach-agent',
  } as ConstructorParameters<typeof Worker>[1]);
  // Never keeps the process alive. (The worker writes nothing to the console; piping its streams with
  // stdout: true would hold the process open.)
  worker.unref();
  worker.on('error', () => undefined);
  return worker;
}

// ---- jobs (docs/protocol.md 5.3) -----------------------------------------------------------------------------------
/**
 * A child of a debugged job (register.ts, job/hook.cts): start a worker that joins the root's job instead of
 * listening. Never throws, never prints. Before the program's code, while a client debugs the whole job, wait (at
 * most the job's hold) until its session has set this process's breakpoints, so a short-lived child stops where it
 * should; a late join (`hold: false`, the program already running) never waits. (A late join under a Node.js root
 * is dormant instead, job/dormant.cts, and comes here through wakeMember.)
 */
export function joinJob(job: JobConfig, options: { hold?: boolean } = {}): void {
  if (agent) return;
  try {
    const { boot, holdMs: held } = memberBoot(job);
    const holdMs = options.hold === false ? 0 : held;
    const a = startMember(job, boot);
    if (holdMs <= 0) return;
    const deadline = Date.now() + holdMs;
    Atomics.wait(a.slots, SLOT.STATE, 0, holdMs);
    if (Atomics.load(a.slots, SLOT.STATE) !== 1) return;
    waitForAttach({ timeout: Math.max(0, deadline - Date.now()) / 1000 });
  } catch {
    // the program runs on undebugged
  }
}

/** A dormant member (job/dormant.cts) wakes: its worker takes the place of the dormant link (the same `image`). */
export function wakeMember(job: JobConfig, image: string): void {
  if (agent || !(DORMANT in globalThis)) return; // (it listens itself now, or woke already)
  try {
    startMember(job, { ...memberBoot(job).boot, image });
  } catch {
    // the program runs on undebugged
  }
}

/** Starts the agent's worker as a member of the job: it dials the gateway (job/member.ts). */
function startMember(job: JobConfig, boot: MemberBoot): Agent {
  const state = createSharedState();
  const config: WorkerConfig = { state, secret: null, host: '', port: 0, allowPlainSecret: false, redirectOutput: job.redirect, apiUrl: import.meta.url, argv: [...process.argv], job: boot };
  const a: Agent = { worker: startWorker(config), state, slots: slots(state), address: { host: '', port: 0 }, member: true };
  agent = a;
  installHelpers(a);
  return a;
}

function leaveJob(): void {
  const dormant = (globalThis as { [DORMANT]?: { close(): void } })[DORMANT];
  if (dormant) {
    dormant.close();
    delete (globalThis as { [DORMANT]?: unknown })[DORMANT];
  }
  const a = agent;
  agent = null;
  if (a) void a.worker.terminate();
}

/** The hidden helpers breakpoint conditions call (hit counts, log points) and output redirection. */
function installHelpers(a: Agent): void {
  const post = (message: ToWorker): void => {
    try {
      a.worker.postMessage(message);
    } catch {
      // the worker is gone; nothing to tell
    }
  };
  const hits = new Map<string, number>();
  let restore: (() => void) | null = null;
  const helpers = {
    /** Where this agent listens (`longreach inject` reads it to say an agent is already inside). */
    address: { ...a.address },
    hit(key: string): number {
      const n = (hits.get(key) ?? 0) + 1;
      hits.set(key, n);
      return n;
    },
    log(text: string): void {
      post({ kind: 'output', category: 'console', text: String(text) });
    },
    /**
     * A compiled breakpoint's condition held (its `debugger` statement comes next): the worker switches V8's
     * debugger on if the agent had it off (worker/session.ts), like breakIntoDebugger. False, and the insert skips
     * its `debugger` statement (translate/script-edit.ts), with no client attached and when the tag names no live
     * breakpoint of the attached session (an insert an earlier session's detach could not take out). With no answer
     * in time, true: the statement stops if V8's debugger is on, as before there was an answer.
     */
    stop(tag: string): boolean {
      if (Atomics.load(a.slots, SLOT.ATTACHED) !== 1) return false;
      const before = Atomics.load(a.slots, SLOT.ACK);
      Atomics.store(a.slots, SLOT.STOP, 1);
      post({ kind: 'stop', tag: String(tag) });
      Atomics.wait(a.slots, SLOT.ACK, before, BREAK_TIMEOUT_MS);
      return Atomics.load(a.slots, SLOT.STOP) !== 0;
    },
    redirect(on: boolean): void {
      if (!on) {
        restore?.();
        restore = null;
        hits.clear();
        return;
      }
      if (restore) return;
      const undo: (() => void)[] = [];
      for (const [stream, category] of [[process.stdout, 'stdout'], [process.stderr, 'stderr']] as const) {
        const original = stream.write;
        const wrapped = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
          const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk);
          post({ kind: 'output', category, text });
          return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
        };
        stream.write = wrapped as typeof stream.write;
        undo.push(() => {
          if (stream.write === wrapped) stream.write = original;
        });
      }
      restore = () => undo.forEach((fn) => fn());
    },
  };
  Object.defineProperty(globalThis, Symbol.for(AGENT_GLOBAL), { value: helpers, enumerable: false, configurable: true });
  process.on('exit', (code) => {
    if (agent !== a || (Atomics.load(a.slots, SLOT.ATTACHED) !== 1 && Atomics.load(a.slots, SLOT.LINGERING) !== 1)) return;
    const before = Atomics.load(a.slots, SLOT.ACK);
    post({ kind: 'exit', code: typeof code === 'number' ? code : 0 });
    Atomics.wait(a.slots, SLOT.ACK, before, EXIT_FLUSH_MS);
  });
}

/** True while a debugger is attached. */
export function isAttached(): boolean {
  return agent !== null && Atomics.load(agent.slots, SLOT.ATTACHED) === 1;
}

function requireAgent(what: string): Agent {
  if (!agent) throw new LongreachError('LR_BAD_REQUEST', `${what} needs the debug server: call enableAttach() first`);
  return agent;
}

function checkTimeout(timeout: unknown): number {
  if (timeout === undefined || timeout === null) return Infinity;
  if (typeof timeout !== 'number' || !(timeout >= 0)) bad('timeout', 'must be a number of seconds (>= 0), or omitted to wait forever');
  return timeout * 1000;
}

/**
 * Blocks the main thread until a debugger has attached and sent configurationDone, so breakpoints sent at attach
 * are hit by the very next line. `timeout` in seconds; returns false when it ran out. A debugger that configured
 * and already detached again before this thread looked (a busy machine) ends the wait too.
 */
export function waitForAttach(options: { timeout?: number } = {}): boolean {
  const a = requireAgent('waitForAttach');
  const limit = checkTimeout(options.timeout);
  const deadline = Date.now() + limit;
  const seen = Atomics.load(a.slots, SLOT.CONFIGURATIONS);
  for (;;) {
    if (configuredSince(a, seen)) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    // Short slices: the inspector's messages for the main thread are served between them.
    Atomics.wait(a.slots, SLOT.CONFIGURATIONS, seen, Math.min(left, 50));
  }
}

/** Like waitForAttach, without blocking the event loop. Resolves true when attached and configured. */
export function waitForAttachAsync(options: { timeout?: number } = {}): Promise<boolean> {
  const a = requireAgent('waitForAttachAsync');
  const limit = checkTimeout(options.timeout);
  const deadline = Date.now() + limit;
  const seen = Atomics.load(a.slots, SLOT.CONFIGURATIONS);
  return new Promise((resolve) => {
    const check = (): void => {
      if (configuredSince(a, seen)) return resolve(true);
      if (Date.now() >= deadline) return resolve(false);
      setTimeout(check, Math.min(20, Math.max(1, deadline - Date.now())));
    };
    check();
  });
}

/** A debugger is configured now, or one sent configurationDone since the wait began (`seen` configurations). */
function configuredSince(a: Agent, seen: number): boolean {
  return Atomics.load(a.slots, SLOT.CONFIGURED) === 1 || Atomics.load(a.slots, SLOT.CONFIGURATIONS) !== seen;
}

/** Stops at the caller's line when a debugger is attached; does nothing otherwise. */
export function breakIntoDebugger(): void {
  const a = agent;
  if (!a || Atomics.load(a.slots, SLOT.ATTACHED) !== 1) return;
  const before = Atomics.load(a.slots, SLOT.ACK);
  a.worker.postMessage({ kind: 'break' } satisfies ToWorker);
  Atomics.wait(a.slots, SLOT.ACK, before, BREAK_TIMEOUT_MS);
  // eslint-disable-next-line no-debugger
  debugger;
}

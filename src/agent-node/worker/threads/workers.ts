// worker_threads workers as threads of the debugged process. While a debugger is attached, an inspector session of
// our own has the NodeWorker domain on: every user worker (there at attach, or started later, nested ones too) is
// attached (nested workers come the same way: Node reports every worker of the process to the main thread), shown as
// a DAP thread (`worker 2: /app/hash.js`) and given the session's breakpoints and exception filters. A worker started while attached is held before its first line until those are set (bounded). With nobody
// attached there is no such session and workers cost nothing. The agent's own worker is never listed nor touched.
// LONGREACH_SUBPROCESS=0 turns following off (workers then run undebugged).

import { fileURLToPath } from 'node:url';
import { threadId as agentThreadId } from 'node:worker_threads';
import { Cdp, type CdpChannel } from '../../inspector/cdp.js';
import { log } from '../../../protocol/log.js';
import { toClient, type PathMapping } from '../../translate/paths.js';
import type { BreakpointSpec, DapBreakpoint } from '../breakpoints.js';
import type { DapFunctionBreakpoint, FunctionBreakpointSpec } from '../function-breakpoints.js';
import { loadedSources } from '../handlers/control.js';
import { THREAD_ID, badRequest } from '../state.js';
import { WorkerChannel } from './channel.js';
import { IdMap, isWorkerId, type IdKind } from './ids.js';
import { WorkerThread, noSuchThread, type ExceptionMode } from './thread.js';

/** How long a new worker waits at most for its breakpoints (LONGREACH_JOB_HOLD seconds, as a job's new processes). */
const DEFAULT_HOLD_S = 5;
/** After a detach, how long our session stays to release workers that were started just before (see stop()). */
const LINGER_MS = 1500;
/** Ended workers remembered (for a clear error), the latest ones: a program may start thousands in a session. */
const GONE_KEPT = 1000;
/** A worker's stack for longreach/stacks: at most this long (a worker blocked in a system call answers nothing). */
const STACKS_TIMEOUT_MS = 2500;

/** False when LONGREACH_SUBPROCESS turns following off (0, false, no, off). */
export function followsWorkers(env: NodeJS.ProcessEnv): boolean {
  const v = env.LONGREACH_SUBPROCESS?.trim().toLowerCase();
  return !(v === '0' || v === 'false' || v === 'no' || v === 'off');
}

export function holdSeconds(env: NodeJS.ProcessEnv): number {
  const v = Number.parseFloat(env.LONGREACH_JOB_HOLD ?? '');
  return Number.isFinite(v) && v >= 0 && v <= 60 ? v : DEFAULT_HOLD_S;
}

/** The thread name a client shows: `worker 2: /app/hash.js`, `worker 3 (resizer): /app/resize.mjs`, `worker 4: <eval>`. */
export function workerName(threadId: number, title: string, url: string, mappings: PathMapping[]): string {
  const name = /^\[worker \d+\] ?(.*)$/.exec(title)?.[1] ?? '';
  let where = '<eval>';
  if (url.startsWith('file:')) {
    try {
      where = toClient(fileURLToPath(url), mappings);
    } catch {
      where = url;
    }
  } else if (url) where = url;
  return `worker ${threadId}${name ? ` (${name})` : ''}: ${where}`;
}

interface Attached {
  sessionId: string;
  workerInfo: { title?: string; url?: string; type?: string };
  waitingForDebugger?: boolean;
}

/** The latest settings of the session, set again in every worker that comes. */
interface Settings {
  breakpoints: Map<string, { specs: BreakpointSpec[]; answered: DapBreakpoint[] }>;
  functions: { specs: FunctionBreakpointSpec[]; answered: DapFunctionBreakpoint[] } | null;
  exceptions: ExceptionMode;
}

/** The session that is stopping, kept a moment to release late workers; a new attach ends it at once. */
let lingering: (() => void) | null = null;

/**
 * The one inspector session that follows workers, from the first attach to the program's exit, with the NodeWorker
 * domain left on between debugging sessions (waiting for none): switching that domain off and on again leaves ~8 KB
 * of the program's native memory behind each time in Node.js 20 (npm run bench:soak). `attached` keeps the workers it
 * is attached to, for the next debugging session (Node announces each worker once).
 */
let follow: Cdp | null = null;
const attached = new Map<string, Attached>();
/** Workers whose release a new debugging session cut short: it cleans up after the last one there first. */
const unfinished = new Set<string>();
/** Debugging sessions watching the shared session's workers now (Workers.#watch, until its lingering ends). */
let watching = 0;

function followSession(): Cdp {
  if (!follow) {
    follow = new Cdp();
    follow.connect();
    follow.on('NodeWorker.attachedToWorker', (p: Attached) => {
      attached.set(p.sessionId, p);
      // Created while a session was ending (Node decides at creation whether a worker waits) and announced only
      // after every session stopped watching: nobody will configure it, so it runs at once.
      if (p.waitingForDebugger && watching === 0) {
        const message = JSON.stringify({ id: 1, method: 'Runtime.runIfWaitingForDebugger' });
        void follow?.post('NodeWorker.sendMessageToWorker', { sessionId: p.sessionId, message }).catch(() => undefined);
      }
    });
    follow.on('NodeWorker.detachedFromWorker', (p: { sessionId: string }) => {
      attached.delete(p.sessionId);
      unfinished.delete(p.sessionId);
    });
  }
  return follow;
}

/** The program is exiting: our sessions must not outlive it (Node would print "Waiting for the debugger to
 * disconnect..." and wait for them). */
export function endLingering(): void {
  lingering?.();
  follow?.disconnect();
  follow = null;
  attached.clear();
}

const NEVER: Promise<void> = new Promise(() => undefined);

export class Workers {
  readonly #send: (event: string, body?: unknown) => void;
  readonly #env: NodeJS.ProcessEnv;
  readonly #ids = new IdMap<WorkerThread>();
  readonly #threads = new Map<number, WorkerThread>();
  /** Threads that have ended in this session: a request naming one gets a clear error. */
  readonly #gone = new Set<number>();
  readonly #settings: Settings = { breakpoints: new Map(), functions: null, exceptions: 'none' };
  #cdp: Cdp | null = null;
  #mappings: PathMapping[] = [];
  #configured = false;
  #onConfigured: (() => void)[] = [];
  #stopping = false;

  constructor(send: (event: string, body?: unknown) => void, env: NodeJS.ProcessEnv = process.env) {
    this.#send = send;
    this.#env = env;
  }

  /** No worker is being debugged: the main thread is the process's only thread (its stops hold everything). */
  get none(): boolean {
    return this.#threads.size === 0;
  }

  /** At attach: switch the NodeWorker domain on (unless LONGREACH_SUBPROCESS=0). */
  start(mappings: PathMapping[]): void {
    this.#mappings = mappings;
    if (!followsWorkers(this.#env) || this.#cdp) return;
    lingering?.();
    const cdp = followSession();
    this.#cdp = cdp;
    this.#watch(cdp);
  }

  /** What #watch subscribed to on the shared session (dropped when this session's following ends). */
  #unsubscribe: (() => void)[] = [];

  /** Follows every worker of the process through `parent` (our session with the main thread). */
  #watch(parent: CdpChannel): void {
    const channels = new Map<string, WorkerChannel>();
    const on = (method: string, fn: (p: any) => void): void => void this.#unsubscribe.push(parent.on(method, fn));
    watching++;
    this.#unsubscribe.push(() => void watching--);
    // once this session's following ends, nothing more goes out through its channels
    this.#unsubscribe.push(() => channels.forEach((channel) => channel.disconnect()));
    on('NodeWorker.receivedMessageFromWorker', (p: { sessionId: string; message: string }) => channels.get(p.sessionId)?.receive(p.message));
    on('NodeWorker.detachedFromWorker', (p: { sessionId: string }) => {
      const channel = channels.get(p.sessionId);
      channels.delete(p.sessionId);
      if (channel) this.#ended(channel);
    });
    const attach = (p: Attached): void => {
      if (channels.has(p.sessionId)) return;
      const title = p.workerInfo?.title ?? '';
      const threadId = Number(/^\[worker (\d+)\]/.exec(title)?.[1] ?? NaN);
      // The agent's own worker (the debug server) is never debugged, and never sent anything.
      if (!Number.isInteger(threadId) || threadId === agentThreadId) return;
      const channel = new WorkerChannel(parent, p.sessionId);
      channels.set(p.sessionId, channel);
      if (this.#stopping) {
        // Started just before the detach: let it run, undebugged.
        if (p.waitingForDebugger) void channel.post('Runtime.runIfWaitingForDebugger').catch(() => undefined);
        return;
      }
      const info = { id: threadId + 1, name: workerName(threadId, title, p.workerInfo.url ?? '', this.#mappings) };
      const thread = new WorkerThread(info, channel, this.#ids, { send: this.#send, verified: (bp) => this.#verified(bp) }, this.#mappings);
      this.#threads.set(thread.id, thread);
      if (unfinished.delete(p.sessionId)) void thread.reset();
      this.#send('thread', { reason: 'started', threadId: thread.id });
      void this.#join(thread, p.waitingForDebugger === true);
    };
    on('NodeWorker.attachedToWorker', attach);
    // workers the shared session attached to before this debugging session (none waits: nobody held them)
    for (const p of [...attached.values()]) attach({ ...p, waitingForDebugger: false });
    void parent.post('NodeWorker.enable', { waitForDebuggerOnStart: true }).catch((err: unknown) => log('agent', `cannot follow worker threads: ${String(err)}`));
  }

  /** A worker joins: the session's settings are set there, then (if it was held at its start) it runs. */
  async #join(thread: WorkerThread, held: boolean): Promise<void> {
    thread.held = held;
    const settle = async (): Promise<void> => {
      if (held && !this.#configured) await new Promise<void>((resolve) => this.#onConfigured.push(resolve));
      await this.#apply(thread);
    };
    const limit = holdSeconds(this.#env) * 1000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settle().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, limit)))]);
    clearTimeout(timer);
    if (!thread.held) return; // released meanwhile (the session ended)
    thread.held = false;
    await thread.channel.post('Runtime.runIfWaitingForDebugger').catch(() => undefined);
  }

  async #apply(thread: WorkerThread): Promise<void> {
    const s = this.#settings;
    for (const [path, { specs, answered }] of s.breakpoints) {
      for (const bp of await thread.setBreakpoints(path, specs, answered)) if (bp.verified) this.#verified(bp);
    }
    if (s.functions) await thread.setFunctionBreakpoints(s.functions.specs, s.functions.answered);
    if (s.exceptions !== 'none') await thread.setExceptions(s.exceptions);
  }

  #ended(channel: WorkerChannel): void {
    const thread = [...this.#threads.values()].find((t) => t.channel === channel);
    channel.disconnect();
    if (thread) this.#end(thread);
  }

  #end(thread: WorkerThread): void {
    if (!this.#threads.delete(thread.id)) return;
    this.#gone.add(thread.id);
    if (this.#gone.size > GONE_KEPT) this.#gone.delete(this.#gone.values().next().value!);
    if (thread.ended()) this.#send('continued', { threadId: thread.id, allThreadsContinued: false });
    this.#send('thread', { reason: 'exited', threadId: thread.id });
  }

  /** A breakpoint the main thread had not verified was verified in a worker: tell the client once. */
  #verified(bp: DapBreakpoint): void {
    for (const { answered } of this.#settings.breakpoints.values()) {
      const mine = answered.find((a) => a.id === bp.id);
      if (!mine || mine.verified) continue;
      mine.verified = true;
      if (bp.line !== undefined) mine.line = bp.line;
      delete mine.message;
      this.#send('breakpoint', { reason: 'changed', breakpoint: { ...mine } });
    }
  }

  // ---- the session's settings ----

  configured(): void {
    this.#configured = true;
    for (const fn of this.#onConfigured.splice(0)) fn();
  }

  /** Sets `answered` (the main thread's answer) in every worker; a breakpoint verified in any thread is verified. */
  async setBreakpoints(path: string, specs: BreakpointSpec[], answered: DapBreakpoint[], mainPaused: Promise<void> = NEVER): Promise<DapBreakpoint[]> {
    if (!this.#cdp) return answered;
    const merged = answered.map((b) => ({ ...b }));
    if (specs.length === 0) this.#settings.breakpoints.delete(path);
    else this.#settings.breakpoints.set(path, { specs, answered: merged });
    const all = Promise.all([...this.#threads.values()].map((t) => t.setBreakpoints(path, specs, answered).catch(() => null)));
    // A worker's answer comes through the main thread's inspector, which passes nothing on while the main thread is
    // paused: one that hit a breakpoint just now (this one, maybe) would hold the answer until the client resumed it,
    // and the client waits for the answer. So the answer goes without the workers that have not answered by then;
    // what they verify is told by a `breakpoint` event when they do (#verified).
    const results = await Promise.race([all, mainPaused.then(() => null)]);
    if (results === null) {
      void all.then((late) => { for (const list of late) for (const bp of list ?? []) if (bp.verified) this.#verified(bp); });
      return merged.map((b) => ({ ...b }));
    }
    for (const list of results) {
      list?.forEach((bp, i) => {
        const m = merged[i];
        if (!m || m.verified || !bp.verified) return;
        m.verified = true;
        if (bp.line !== undefined) m.line = bp.line;
        delete m.message;
      });
    }
    return merged.map((b) => ({ ...b }));
  }

  async setFunctionBreakpoints(specs: FunctionBreakpointSpec[], answered: DapFunctionBreakpoint[]): Promise<DapFunctionBreakpoint[]> {
    if (!this.#cdp) return answered;
    const merged = answered.map((b) => ({ ...b }));
    this.#settings.functions = specs.length ? { specs, answered: merged } : null;
    const results = await Promise.all([...this.#threads.values()].map((t) => t.setFunctionBreakpoints(specs, answered).catch(() => null)));
    for (const list of results) {
      list?.forEach((bp, i) => {
        const m = merged[i];
        if (!m || m.verified || !bp.verified) return;
        m.verified = true;
        delete m.message;
      });
    }
    return merged.map((b) => ({ ...b }));
  }

  async setExceptions(mode: ExceptionMode): Promise<void> {
    if (!this.#cdp) return;
    this.#settings.exceptions = mode;
    await Promise.all([...this.#threads.values()].map((t) => t.setExceptions(mode).catch(() => undefined)));
  }

  // ---- requests ----

  /** The main thread first, then each worker by thread id. */
  threads(main: { id: number; name: string }[]): { id: number; name: string }[] {
    const workers = [...this.#threads.values()].sort((a, b) => a.id - b.id).map((t) => ({ id: t.id, name: t.name }));
    return [...main, ...workers];
  }

  /**
   * A request that names a worker's thread, frame, variables or source goes to that worker (undefined: not a
   * worker's; the main thread answers). The worker gets its own ids; its answer carries the client's.
   */
  route(command: string, args: Record<string, unknown>): Promise<unknown> | undefined {
    switch (command) {
      case 'stackTrace':
      case 'continue':
      case 'next':
      case 'stepIn':
      case 'stepOut':
      case 'pause':
      case 'exceptionInfo': {
        const id = args.threadId;
        if (typeof id !== 'number' || id === THREAD_ID) return undefined;
        const thread = this.#threads.get(id);
        if (thread) return thread.request(command, args);
        if (this.#gone.has(id)) throw noSuchThread(id);
        return undefined;
      }
      case 'scopes':
      case 'evaluate':
      case 'completions':
        return this.#byId(command, args, 'frameId', 'frame', args.frameId);
      case 'variables':
      case 'setVariable':
        return this.#byId(command, args, 'variablesReference', 'variables', args.variablesReference);
      case 'source': {
        const src = (args.source ?? {}) as { sourceReference?: unknown };
        const ref = isWorkerId(src.sourceReference) ? src.sourceReference : args.sourceReference;
        if (!isWorkerId(ref)) return undefined;
        const owner = this.#ids.inward(ref, 'source');
        if (!owner) throw badRequest(`sourceReference ${ref} is not known (its worker may have ended); take references from stackTrace`);
        return owner.owner.request('source', { ...args, source: { ...src, sourceReference: owner.local }, sourceReference: owner.local });
      }
      default:
        return undefined;
    }
  }

  #byId(command: string, args: Record<string, unknown>, key: string, kind: IdKind, id: unknown): Promise<unknown> | undefined {
    if (!isWorkerId(id)) return undefined;
    const owner = this.#ids.inward(id, kind);
    if (!owner) {
      const what = kind === 'frame' ? `frame ${id}` : `variablesReference ${id}`;
      throw badRequest(`${what} is not valid: it belonged to a worker thread that has resumed or ended (ask stackTrace again)`);
    }
    return owner.owner.request(command, { ...args, [key]: owner.local });
  }

  /** loadedSources: the main thread's, then the files only workers have loaded (those whose Debugger is on). */
  async loadedSources(main: Promise<unknown>): Promise<unknown> {
    const body = (await main) as { sources: { path?: string }[] };
    const seen = new Set(body.sources.map((src) => src.path));
    for (const thread of this.#threads.values()) {
      if (!thread.state.runtime.debuggerOn) continue;
      const theirs = (await loadedSources(thread.state).catch(() => ({ sources: [] }))) as { sources: { path?: string }[] };
      for (const src of theirs.sources) {
        if (seen.has(src.path)) continue;
        seen.add(src.path);
        body.sources.push(src);
      }
    }
    return body;
  }

  /** longreach/stacks: each worker's stack after the main thread's (bounded: a busy worker may not answer). */
  async stacks(main: unknown): Promise<unknown> {
    const body = (await main) as { threads: Record<string, unknown>[] };
    for (const thread of [...this.#threads.values()].sort((a, b) => a.id - b.id)) {
      let timer: NodeJS.Timeout | undefined;
      const answer = await Promise.race([
        thread.request('longreach/stacks', {}).catch(() => null),
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), STACKS_TIMEOUT_MS))),
      ]);
      clearTimeout(timer);
      const first = (answer as { threads?: Record<string, unknown>[] } | null)?.threads?.[0];
      body.threads.push({ ...(first ?? { frames: [], totalFrames: 0 }), id: thread.id, name: thread.name });
    }
    return body;
  }

  // ---- the end ----

  /**
   * The debugger detaches: every worker runs on as without one (breakpoints and filters gone, stops resumed, held
   * workers released). Our session stays a moment longer (LINGER_MS), not holding new workers, to release any
   * that was started just before this (Node decides whether a worker waits when it is created) and reaches us only
   * now; then it closes. Resolves once the workers we know are released (bounded).
   */
  async stop(): Promise<void> {
    const cdp = this.#cdp;
    if (!cdp || this.#stopping) return;
    this.#stopping = true;
    for (const fn of this.#onConfigured.splice(0)) fn();
    await cdp.post('NodeWorker.enable', { waitForDebuggerOnStart: false }).catch(() => undefined);
    const threads = [...this.#threads.values()];
    this.#threads.clear();
    let timer: NodeJS.Timeout | undefined;
    const releasing = new Set(threads);
    const released = Promise.all(threads.map((t) => t.release().catch(() => undefined).finally(() => releasing.delete(t))));
    await Promise.race([released, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
    const close = (): void => {
      clearTimeout(linger);
      if (lingering === close) lingering = null;
      for (const t of releasing) unfinished.add(t.channel.sessionId); // cut short (their held workers are let run)
      for (const off of this.#unsubscribe.splice(0)) off(); // the shared session stays, waiting for no worker
    };
    // The releases keep their answers until they end, however late (a worker blocked in a system call answers once
    // it returns; each request's wait is bounded by the channel): one that lost them would leave the worker's
    // breakpoints set until its requests timed out. A new debugging session ends this one at once (lingering), and
    // cleans up in those workers first (WorkerThread.reset()).
    const linger = setTimeout(() => void released.then(() => (lingering === close ? close() : undefined)), LINGER_MS);
    linger.unref();
    lingering?.();
    lingering = close;
  }
}

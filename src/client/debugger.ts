// A client-side debugger model on top of DapSession: the attach flow, numbered breakpoints, stop tracking
// (thread, frames, current frame), stepping, evaluation, variables, threads, detach/kill. Every front end
// (the terminal CLI, the editor bridge, a UI) reuses it; nothing here knows about terminals. This file keeps the
// state (configuring, running, stopped, exited, closed) and the flow; breakpoints.ts numbers and syncs breakpoints,
// frames.ts reads stops' frames, values.ts evaluates and expands values.
//
// It copes with both our agents and plain DAP servers such as debugpy: `initialized` may arrive before or after the
// attach response (debugpy answers attach only after configurationDone), `hitBreakpointIds` may be missing, and
// optional requests are used only when the capabilities say so.

import { EventEmitter } from 'node:events';
import type { DebugProtocol as P } from '@vscode/debugprotocol';
import { LongreachError } from '../protocol/errors.js';
import { BreakpointTable, type BreakpointInfo, type LineBreakpointSpec } from './breakpoints.js';
import type { ClientSession } from './connect.js';
import { fetchException, fetchFrames, threadProcess, type Frame, type Stop } from './frames.js';
import { toRemotePath, type PathMapping } from './path-map.js';
import { SourceCache } from './source.js';
import { completionsFor, evaluateIn, scopesOf, setVariableIn, variablesOf, type Variable } from './values.js';

export type { BreakpointInfo, LineBreakpointSpec } from './breakpoints.js';
export { threadProcess, type Frame, type Stop } from './frames.js';
export type { Variable } from './values.js';

export interface OutputEvent {
  category: string;
  text: string;
}

export type DebuggerState = 'configuring' | 'running' | 'stopped' | 'exited' | 'closed';

/** How waiting for the program ended. */
export type WaitOutcome = { kind: 'stopped'; stop: Stop } | { kind: 'exited'; exitCode: number | null } | { kind: 'closed'; error: LongreachError | null };

export interface DebuggerEvents {
  stopped: [Stop];
  continued: [];
  output: [OutputEvent];
  breakpoint: [BreakpointInfo];
  thread: [{ reason: string; threadId: number }];
  exited: [{ exitCode: number | null }];
  closed: [LongreachError | null];
}

export interface AttachOptions {
  breakpoints?: LineBreakpointSpec[];
  functionBreakpoints?: string[];
  exceptionFilters?: string[];
  pathMappings?: PathMapping[];
  /** debugpy only steps into user code unless told otherwise; our agents ignore it. */
  justMyCode?: boolean;
  /** Bound on the attach flow (default: the session's timeout). */
  timeoutMs?: number;
}

export class Debugger extends EventEmitter<DebuggerEvents> {
  readonly session: ClientSession;
  readonly pathMappings: readonly PathMapping[];
  readonly capabilities: P.Capabilities;
  #state: DebuggerState = 'configuring';
  #stop: Stop | null = null;
  #frameIndex = 0;
  #stopCount = 0;
  #lastStopped: number | undefined;
  #queued: P.StoppedEvent['body'][] = [];
  #exitCode: number | null = null;
  #closeError: LongreachError | null = null;
  readonly #breakpoints: BreakpointTable;
  readonly #threadNames = new Map<number, string>();
  #exceptionFilters: string[] = [];
  #chain: Promise<void> = Promise.resolve();
  #leaving = false;
  readonly #sources: SourceCache;

  private constructor(session: ClientSession, pathMappings: PathMapping[]) {
    super();
    this.session = session;
    this.pathMappings = pathMappings;
    this.capabilities = session.hello.capabilities as P.Capabilities;
    this.#sources = new SourceCache(session, pathMappings);
    this.#breakpoints = new BreakpointTable(session);
    session.on('event', (name, body) => {
      this.#chain = this.#chain.then(() => this.#onEvent(name, body)).catch(() => undefined);
    });
    session.on('close', (err) => {
      this.#chain = this.#chain.then(() => {
        if (this.#state === 'closed') return;
        this.#closeError = err;
        this.#state = 'closed';
        this.emit('closed', err);
      });
    });
  }

  /**
   * attach → initialized → breakpoints → configurationDone, in an order that suits both our agents (attach answered
   * at once) and debugpy (attach answered after configurationDone). Breakpoints given here are in place before the
   * program runs on, so a program held in wait_for_attach stops at them.
   */
  static async attach(session: ClientSession, options: AttachOptions = {}): Promise<Debugger> {
    const dbg = new Debugger(session, options.pathMappings ?? []);
    const timeoutMs = options.timeoutMs ?? session.timeoutMs;
    const initialized = session.waitForEvent('initialized', { timeoutMs });
    initialized.catch(() => undefined);
    const args: Record<string, unknown> = { name: 'longreach', request: 'attach', redirectOutput: true, justMyCode: options.justMyCode ?? true };
    if (dbg.pathMappings.length > 0) args.pathMappings = dbg.pathMappings.map((m) => ({ localRoot: m.localRoot, remoteRoot: m.remoteRoot }));
    const attached = session.request('attach', args, { timeoutMs });
    attached.catch(() => undefined);
    await Promise.race([initialized, attached.then(() => initialized)]);
    for (const spec of options.breakpoints ?? []) dbg.#breakpoints.addLine(spec);
    await Promise.all([...dbg.#breakpoints.files()].map((file) => dbg.#breakpoints.syncFile(file)));
    for (const name of options.functionBreakpoints ?? []) dbg.#breakpoints.addFunction(name);
    if ((options.functionBreakpoints ?? []).length > 0) await dbg.#breakpoints.syncFunctions();
    dbg.#exceptionFilters = options.exceptionFilters ?? [];
    if (dbg.#exceptionFilters.length > 0 || dbg.capabilities.exceptionBreakpointFilters) {
      await session.request('setExceptionBreakpoints', { filters: dbg.#exceptionFilters });
    }
    if (dbg.capabilities.supportsConfigurationDoneRequest !== false) await session.request('configurationDone');
    await attached;
    if (dbg.#state === 'configuring') dbg.#state = 'running';
    return dbg;
  }

  get state(): DebuggerState {
    return this.#state;
  }

  get stop(): Stop | null {
    return this.#state === 'stopped' ? this.#stop : null;
  }

  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** The selected frame of the current stop (`frame N`, `up`, `down` move it). */
  get frame(): Frame | null {
    return this.stop?.frames[this.#frameIndex] ?? null;
  }

  get frameIndex(): number {
    return this.#frameIndex;
  }

  /** How many stops so far: a front end waits for this to grow. */
  get stopCount(): number {
    return this.#stopCount;
  }

  get exceptionFilters(): readonly string[] {
    return this.#exceptionFilters;
  }

  /** The exception filters the server offers (e.g. raised, uncaught). */
  get availableExceptionFilters(): string[] {
    return (this.capabilities.exceptionBreakpointFilters ?? []).map((f) => f.filter);
  }

  breakpoints(): BreakpointInfo[] {
    return this.#breakpoints.list();
  }

  // ---- breakpoints ----

  async setBreakpoint(spec: LineBreakpointSpec): Promise<BreakpointInfo> {
    const info = this.#breakpoints.addLine(spec);
    try {
      await this.#breakpoints.syncFile(info.file!);
    } catch (err) {
      this.#breakpoints.forget(info.number);
      throw err;
    }
    return info;
  }

  async setFunctionBreakpoint(name: string, condition?: string): Promise<BreakpointInfo> {
    if (!this.capabilities.supportsFunctionBreakpoints) throw new LongreachError('LR_UNSUPPORTED', 'this server does not support function breakpoints; use FILE:LINE');
    const info = this.#breakpoints.addFunction(name, condition);
    try {
      await this.#breakpoints.syncFunctions();
    } catch (err) {
      this.#breakpoints.forget(info.number);
      throw err;
    }
    return info;
  }

  async deleteBreakpoint(number: number): Promise<BreakpointInfo> {
    const info = this.#breakpoints.get(number);
    if (!info) throw new LongreachError('LR_BAD_REQUEST', `no breakpoint number ${number} (info breakpoints lists them)`);
    this.#breakpoints.forget(number);
    if (info.kind === 'line') await this.#breakpoints.syncFile(info.file!);
    else await this.#breakpoints.syncFunctions();
    return info;
  }

  async setExceptionFilters(filters: string[]): Promise<void> {
    const known = this.availableExceptionFilters;
    const unknown = filters.filter((f) => !known.includes(f));
    if (unknown.length > 0) throw new LongreachError('LR_UNSUPPORTED', `this server has no exception filter ${unknown.join(', ')} (it offers: ${known.join(', ') || 'none'})`);
    await this.session.request('setExceptionBreakpoints', { filters });
    this.#exceptionFilters = filters;
  }

  // ---- events ----

  async #onEvent(name: string, body: unknown): Promise<void> {
    switch (name) {
      case 'stopped':
        return this.#onStopped(body as P.StoppedEvent['body']);
      case 'continued': {
        const b = body as P.ContinuedEvent['body'];
        // a job (several processes): another process running again does not end the current stop
        if (b.allThreadsContinued === false && this.#stop && b.threadId !== this.#stop.threadId) {
          this.#queued = this.#queued.filter((q) => q.threadId !== b.threadId);
          return;
        }
        if (this.#state === 'stopped') {
          this.#state = 'running';
          this.#stop = null;
          this.emit('continued');
          // the current thread runs again by itself (a worker the program ended): a stop that waited becomes current
          await this.#nextQueued();
        }
        return;
      }
      case 'output': {
        const b = body as P.OutputEvent['body'];
        if (b.category === 'telemetry' || typeof b.output !== 'string') return;
        this.emit('output', { category: b.category ?? 'console', text: b.output });
        return;
      }
      case 'breakpoint': {
        const info = this.#breakpoints.changed((body as P.BreakpointEvent['body']).breakpoint);
        if (info) this.emit('breakpoint', info);
        return;
      }
      case 'thread': {
        const b = body as P.ThreadEvent['body'];
        // the stopped thread is gone (its process or worker ended, a job's child killed while stopped): a stop
        // that waited becomes current
        const current = b.reason === 'exited' && this.#state === 'stopped' && this.#stop?.threadId === b.threadId;
        if (b.reason === 'exited') {
          this.#threadNames.delete(b.threadId);
          this.#queued = this.#queued.filter((q) => q.threadId !== b.threadId);
          if (current) {
            this.#state = 'running';
            this.#stop = null;
            this.emit('continued');
          }
        }
        this.emit('thread', { reason: b.reason, threadId: b.threadId });
        if (current) await this.#nextQueued();
        return;
      }
      case 'exited':
        this.#exitCode = (body as P.ExitedEvent['body'])?.exitCode ?? null;
        return this.#ended();
      case 'terminated':
        // debugpy also says `terminated` when a client detaches: that is not the program ending.
        if (this.#leaving) return;
        return this.#ended();
      default:
        return;
    }
  }

  #ended(): void {
    if (this.#state === 'exited' || this.#state === 'closed') return;
    this.#state = 'exited';
    this.#stop = null;
    this.emit('exited', { exitCode: this.#exitCode });
  }

  async #onStopped(body: P.StoppedEvent['body']): Promise<void> {
    if (this.#state === 'exited' || this.#state === 'closed') return;
    // One stop at a time: with all threads stopped, a second thread's event does not move the user's focus. A stop
    // elsewhere that leaves other threads running (another process of a job) waits in a queue until the user
    // resumes the current one: stops from several processes are never lost.
    if (this.#state === 'stopped' && this.#stop && body.threadId !== this.#stop.threadId) {
      if (body.allThreadsStopped === false && body.threadId !== undefined) {
        this.#queued = [...this.#queued.filter((q) => q.threadId !== body.threadId), body];
      }
      return;
    }
    let threadId = body.threadId;
    if (threadId === undefined) threadId = (await this.threads())[0]?.id ?? 0;
    const { frames, totalFrames } = await this.#stackTrace(threadId);
    // A stop in the thread that stopped last (a step) keeps its name; a stop elsewhere asks again, as a name can
    // change: a job's process learns its label after it joined (a DataLoader worker once torch has set it up).
    const known = threadId === this.#lastStopped ? this.#threadNames.get(threadId) : undefined;
    this.#lastStopped = threadId;
    const stop: Stop = {
      reason: body.reason,
      threadId,
      threadName: known ?? (await this.#threadName(threadId)),
      frames,
      totalFrames,
      breakpoints: this.#breakpoints.hitBy(body, frames[0]),
      ...(body.description ? { description: body.description } : {}),
      ...(body.text ? { text: body.text } : {}),
    };
    if (body.reason === 'exception' && this.capabilities.supportsExceptionInfoRequest) {
      const exception = await fetchException(this.session, threadId);
      if (exception) stop.exception = exception;
    }
    this.#stop = stop;
    this.#frameIndex = 0;
    this.#state = 'stopped';
    this.#stopCount++;
    for (const n of stop.breakpoints) {
      const bp = this.#breakpoints.get(n);
      if (bp) bp.hits++;
    }
    this.emit('stopped', stop);
    for (const n of stop.breakpoints) {
      const bp = this.#breakpoints.get(n);
      if (bp?.temporary) await this.deleteBreakpoint(n).catch(() => undefined);
    }
  }

  async #threadName(threadId: number): Promise<string> {
    await this.threads().catch(() => []);
    return this.#threadNames.get(threadId) ?? `thread ${threadId}`;
  }

  async #stackTrace(threadId: number): Promise<{ frames: Frame[]; totalFrames: number }> {
    const { frames, totalFrames } = await fetchFrames(this.session, threadId, 0, this.pathMappings);
    return { frames, totalFrames: totalFrames ?? frames.length };
  }

  // ---- waiting ----

  /**
   * Resolves when the program has stopped more than `afterStops` times in all, or has ended, or the connection
   * closed; rejects with LR_TIMEOUT after `timeoutMs`.
   */
  waitForStop(afterStops: number, timeoutMs: number): Promise<WaitOutcome> {
    const now = this.#outcome(afterStops);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const outcome = this.#outcome(afterStops);
        if (!outcome) return;
        cleanup();
        resolve(outcome);
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('stopped', check);
        this.off('exited', check);
        this.off('closed', check);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new LongreachError('LR_TIMEOUT', `the program did not stop within ${timeoutMs / 1000} s (raise --timeout, or pause it)`));
      }, timeoutMs);
      this.on('stopped', check);
      this.on('exited', check);
      this.on('closed', check);
    });
  }

  #outcome(afterStops: number): WaitOutcome | null {
    if (this.#state === 'stopped' && this.#stopCount > afterStops && this.#stop) return { kind: 'stopped', stop: this.#stop };
    if (this.#state === 'exited') return { kind: 'exited', exitCode: this.#exitCode };
    if (this.#state === 'closed') return { kind: 'closed', error: this.#closeError };
    return null;
  }

  // ---- execution control ----

  #requireStop(what: string): Stop {
    const stop = this.stop;
    if (!stop) {
      const why = this.#state === 'exited' ? 'the program has ended' : this.#state === 'closed' ? 'the connection is closed' : 'the program is running (pause it first)';
      throw new LongreachError('LR_NOT_STOPPED', `${what} needs a stopped program: ${why}`);
    }
    return stop;
  }

  async #resume(command: 'continue' | 'next' | 'stepIn' | 'stepOut', what: string): Promise<void> {
    const stop = this.#requireStop(what);
    this.#state = 'running';
    this.#stop = null;
    this.emit('continued');
    try {
      await this.session.request(command, { threadId: stop.threadId });
    } catch (err) {
      if (this.#state === 'running') {
        this.#state = 'stopped';
        this.#stop = stop;
      }
      throw err;
    }
    // in line with the events: a stop that comes meanwhile (the stepped thread's) then waits behind the one taken
    await this.#serially(() => this.#nextQueued());
  }

  /** Runs `fn` after the events received so far have been handled, and before any later one. */
  #serially(fn: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** The oldest stop that waited while another was current (a job's other processes), if it still holds. */
  async #nextQueued(): Promise<void> {
    while (this.#state === 'running' && this.#queued.length > 0) {
      const body = this.#queued.shift()!;
      try {
        await this.#onStopped(body);
        return;
      } catch {
        // that process ended or ran on meanwhile: try the next one
      }
    }
  }

  /** Stops waiting behind the current one (other processes of a job), oldest first. */
  get queuedStops(): { threadId: number; reason: string }[] {
    return this.#queued.map((q) => ({ threadId: q.threadId ?? 0, reason: q.reason }));
  }

  continue(): Promise<void> {
    return this.#resume('continue', 'continue');
  }

  next(): Promise<void> {
    return this.#resume('next', 'next');
  }

  stepIn(): Promise<void> {
    return this.#resume('stepIn', 'step');
  }

  stepOut(): Promise<void> {
    return this.#resume('stepOut', 'finish');
  }

  async pause(): Promise<void> {
    if (this.#state === 'stopped') return;
    if (this.#state !== 'running') this.#requireStop('pause');
    const threadId = (await this.threads())[0]?.id ?? 0;
    await this.session.request('pause', { threadId });
  }

  // ---- inspection ----

  async threads(): Promise<{ id: number; name: string }[]> {
    const body = await this.session.request<P.ThreadsResponse['body']>('threads');
    const threads = body?.threads ?? [];
    for (const t of threads) this.#threadNames.set(t.id, t.name);
    return threads.map((t) => ({ id: t.id, name: t.name }));
  }

  /**
   * Makes another thread current: one of the current stop's process (all its threads are stopped together), or one
   * whose stop waits (another process of a job). A thread of a job's process that is running is refused.
   */
  async selectThread(threadId: number): Promise<Stop> {
    const stop = this.#requireStop('thread');
    const threads = await this.threads();
    const target = threads.find((t) => t.id === threadId);
    if (!target) throw new LongreachError('LR_BAD_REQUEST', `no thread ${threadId} (threads lists them)`);
    // a job's thread (named after its process) is selectable when its process is stopped: current, or waiting
    const owner = threadProcess(target.name);
    const inProcess = (id: number | undefined): boolean => owner !== null && id !== undefined && threadProcess(this.#threadNames.get(id) ?? '')?.pid === owner.pid;
    if (owner && !inProcess(stop.threadId) && !this.#queued.some((q) => inProcess(q.threadId))) {
      throw new LongreachError('LR_NOT_STOPPED', `thread ${threadId} belongs to process ${owner.pid}, which is running; it becomes selectable when it stops (processes shows which are stopped)`);
    }
    const { frames, totalFrames } = await this.#stackTrace(threadId);
    // a thread whose stop waited, or a thread of a job's process whose stop waited: the stop left waits in its place
    const queued = this.#queued.find((q) => q.threadId === threadId) ?? (inProcess(stop.threadId) ? undefined : this.#queued.find((q) => inProcess(q.threadId)));
    if (queued) this.#queued = [...this.#queued.filter((q) => q !== queued), { reason: stop.reason, threadId: stop.threadId, allThreadsStopped: false }];
    this.#stop = { reason: queued?.reason ?? stop.reason, threadId, threadName: this.#threadNames.get(threadId) ?? `thread ${threadId}`, frames, totalFrames, breakpoints: [] };
    this.#frameIndex = 0;
    return this.#stop;
  }

  /** Every frame of the current thread (fetches beyond the first page when asked for more). */
  async backtrace(limit = 1000): Promise<Frame[]> {
    const stop = this.#requireStop('backtrace');
    while (stop.frames.length < Math.min(stop.totalFrames, limit)) {
      const { frames: more } = await fetchFrames(this.session, stop.threadId, stop.frames.length, this.pathMappings);
      if (more.length === 0) break;
      stop.frames.push(...more);
    }
    return stop.frames.slice(0, limit);
  }

  async selectFrame(index: number): Promise<Frame> {
    const stop = this.#requireStop('frame');
    if (index >= stop.frames.length && index < stop.totalFrames) await this.backtrace(index + 1);
    const frame = stop.frames[index];
    if (!frame || index < 0) throw new LongreachError('LR_BAD_REQUEST', `no frame ${index}: frames run from 0 to ${Math.max(stop.totalFrames, stop.frames.length) - 1}`);
    this.#frameIndex = index;
    return frame;
  }

  async evaluate(expression: string, context: 'repl' | 'watch' | 'hover' = 'repl'): Promise<Variable> {
    const frame = this.frame;
    if (!frame) this.#requireStop('evaluating an expression');
    return evaluateIn(this.session, frame!.id, expression, context);
  }

  async scopes(): Promise<{ name: string; ref: number; expensive: boolean }[]> {
    const frame = this.frame;
    if (!frame) this.#requireStop('scopes');
    return scopesOf(this.session, frame!.id);
  }

  /** The variables of the current frame's scope whose name starts with `prefix` (Locals, Globals). */
  async scopeVariables(prefix: 'local' | 'global'): Promise<Variable[]> {
    const scopes = await this.scopes();
    const scope = scopes.find((s) => s.name.toLowerCase().startsWith(prefix));
    if (!scope) throw new LongreachError('LR_UNSUPPORTED', `this server shows no ${prefix} scope (it has: ${scopes.map((s) => s.name).join(', ') || 'none'})`);
    return this.variables(scope.ref);
  }

  async variables(ref: number, start?: number, count?: number): Promise<Variable[]> {
    return variablesOf(this.session, ref, start, count);
  }

  /** `set NAME = EXPR`: setVariable on a local or global when the name is plain, else an assignment in the repl. */
  async assign(target: string, expression: string): Promise<Variable> {
    this.#requireStop('set');
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(target) && this.capabilities.supportsSetVariable) {
      for (const scope of await this.scopes()) {
        if (scope.expensive && !/^global/i.test(scope.name)) continue;
        const vars = await this.variables(scope.ref);
        if (!vars.some((v) => v.name === target)) continue;
        return setVariableIn(this.session, scope.ref, target, expression);
      }
    }
    await this.evaluate(`${target} = ${expression}`, 'repl');
    return this.evaluate(target, 'repl');
  }

  /** Completions for `text` at its end, in the current frame (empty when the server has none). */
  async completions(text: string): Promise<string[]> {
    if (!this.capabilities.supportsCompletionsRequest) return [];
    return completionsFor(this.session, text, this.frame?.id);
  }

  /** The lines of a frame's file: the local copy when it matches the agent's, else the agent's (`source`). */
  source(frame: Frame): Promise<{ lines: string[]; origin: 'local' | 'remote' } | null> {
    return this.#sources.get(frame);
  }

  /** The agent's path for a local one (for messages). */
  remotePath(local: string): string {
    return toRemotePath(local, this.pathMappings);
  }

  // ---- leaving ----

  /** Leaves the program running (breakpoints removed by the agent). */
  async detach(): Promise<void> {
    if (this.session.closed) return;
    this.#leaving = true;
    try {
      await this.session.disconnect({ terminateDebuggee: false });
    } finally {
      this.#markClosed();
    }
  }

  /** Ends the program. */
  async kill(): Promise<void> {
    if (this.session.closed) return;
    try {
      if (this.capabilities.supportsTerminateRequest) {
        await this.session.request('terminate', {}, { timeoutMs: 5000 }).catch(() => undefined);
      }
      await this.session.disconnect({ terminateDebuggee: true }).catch(() => undefined);
    } finally {
      this.#markClosed();
    }
  }

  #markClosed(): void {
    if (this.#state !== 'closed') {
      this.#state = 'closed';
      this.#stop = null;
    }
  }
}

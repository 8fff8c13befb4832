// A client-side debugger model on top of DapSession: the attach flow, numbered breakpoints, stop tracking
// (thread, frames, current frame), stepping, evaluation, variables, threads, detach/kill. Every front end
// (the terminal CLI, the editor bridge, a UI) reuses it; nothing here knows about terminals.
//
// It copes with both our agents and plain DAP servers such as debugpy: `initialized` may arrive before or after the
// attach response (debugpy answers attach only after configurationDone), `hitBreakpointIds` may be missing, and
// optional requests are used only when the capabilities say so.

import { EventEmitter } from 'node:events';
import { resolve as resolvePath } from 'node:path';
import type { DebugProtocol as P } from '@vscode/debugprotocol';
import { LongreachError } from '../protocol/errors.js';
import type { ClientSession } from './connect.js';
import { toLocalPath, toRemotePath, type PathMapping } from './path-map.js';
import { SourceCache } from './source.js';

export interface LineBreakpointSpec {
  /** A local path (absolute, or relative to the current directory); mapped with pathMappings by the agent. */
  file: string;
  line: number;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
  /** Deleted after its first stop (`tbreak`). */
  temporary?: boolean;
}

export interface BreakpointInfo {
  /** The number users refer to (`delete 2`); never reused in a session. */
  number: number;
  kind: 'line' | 'function';
  file?: string;
  line?: number;
  name?: string;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
  temporary: boolean;
  verified: boolean;
  /** Why it is not verified (from the agent), if it said. */
  message?: string;
  hits: number;
  dapId?: number;
}

export interface Frame {
  index: number;
  id: number;
  name: string;
  /** The path the agent reported, and its local counterpart (same when no mapping applies). */
  remotePath: string | null;
  path: string | null;
  sourceReference: number;
  line: number;
  column: number;
}

export interface Stop {
  reason: string;
  description?: string;
  text?: string;
  threadId: number;
  threadName: string;
  frames: Frame[];
  totalFrames: number;
  /** Numbers of the breakpoints that caused the stop. */
  breakpoints: number[];
  exception?: { id: string; description?: string };
}

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

export interface Variable {
  name: string;
  value: string;
  type?: string;
  /** Non-zero when it has children (expand it). */
  ref: number;
  named?: number;
  indexed?: number;
  /** DAP presentationHint: kind (`data`, `virtual`...) and lazy (computed when expanded). */
  hint?: { kind?: string; lazy?: boolean };
}

const FRAME_PAGE = 64;

export class Debugger extends EventEmitter<DebuggerEvents> {
  readonly session: ClientSession;
  readonly pathMappings: readonly PathMapping[];
  readonly capabilities: P.Capabilities;
  #state: DebuggerState = 'configuring';
  #stop: Stop | null = null;
  #frameIndex = 0;
  #stopCount = 0;
  #exitCode: number | null = null;
  #closeError: LongreachError | null = null;
  #nextNumber = 1;
  readonly #breakpoints = new Map<number, BreakpointInfo>();
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
    for (const spec of options.breakpoints ?? []) dbg.#add(dbg.#lineInfo(spec));
    await Promise.all([...dbg.#files()].map((file) => dbg.#syncFile(file)));
    for (const name of options.functionBreakpoints ?? []) dbg.#add({ kind: 'function', name, temporary: false });
    if ((options.functionBreakpoints ?? []).length > 0) await dbg.#syncFunctions();
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
    return [...this.#breakpoints.values()];
  }

  // ---- breakpoints ----

  async setBreakpoint(spec: LineBreakpointSpec): Promise<BreakpointInfo> {
    const info = this.#add(this.#lineInfo(spec));
    try {
      await this.#syncFile(info.file!);
    } catch (err) {
      this.#breakpoints.delete(info.number);
      throw err;
    }
    return info;
  }

  async setFunctionBreakpoint(name: string, condition?: string): Promise<BreakpointInfo> {
    if (!this.capabilities.supportsFunctionBreakpoints) throw new LongreachError('LR_UNSUPPORTED', 'this server does not support function breakpoints; use FILE:LINE');
    const info = this.#add({ kind: 'function', name, temporary: false, ...(condition ? { condition } : {}) });
    try {
      await this.#syncFunctions();
    } catch (err) {
      this.#breakpoints.delete(info.number);
      throw err;
    }
    return info;
  }

  async deleteBreakpoint(number: number): Promise<BreakpointInfo> {
    const info = this.#breakpoints.get(number);
    if (!info) throw new LongreachError('LR_BAD_REQUEST', `no breakpoint number ${number} (info breakpoints lists them)`);
    this.#breakpoints.delete(number);
    if (info.kind === 'line') await this.#syncFile(info.file!);
    else await this.#syncFunctions();
    return info;
  }

  async setExceptionFilters(filters: string[]): Promise<void> {
    const known = this.availableExceptionFilters;
    const unknown = filters.filter((f) => !known.includes(f));
    if (unknown.length > 0) throw new LongreachError('LR_UNSUPPORTED', `this server has no exception filter ${unknown.join(', ')} (it offers: ${known.join(', ') || 'none'})`);
    await this.session.request('setExceptionBreakpoints', { filters });
    this.#exceptionFilters = filters;
  }

  #lineInfo(spec: LineBreakpointSpec): Omit<BreakpointInfo, 'number' | 'verified' | 'hits'> {
    if (!Number.isInteger(spec.line) || spec.line < 1) throw new LongreachError('LR_BAD_REQUEST', `line numbers start at 1, got ${spec.line}`);
    return {
      kind: 'line',
      file: resolvePath(spec.file),
      line: spec.line,
      temporary: spec.temporary === true,
      ...(spec.condition ? { condition: spec.condition } : {}),
      ...(spec.hitCondition ? { hitCondition: spec.hitCondition } : {}),
      ...(spec.logMessage ? { logMessage: spec.logMessage } : {}),
    };
  }

  #add(partial: Omit<BreakpointInfo, 'number' | 'verified' | 'hits'>): BreakpointInfo {
    const info: BreakpointInfo = { ...partial, number: this.#nextNumber++, verified: false, hits: 0 };
    this.#breakpoints.set(info.number, info);
    return info;
  }

  #files(): Set<string> {
    return new Set(this.breakpoints().flatMap((b) => (b.kind === 'line' ? [b.file!] : [])));
  }

  /** DAP sets breakpoints per file: send the whole list for `file` and read back each one's verification. */
  async #syncFile(file: string): Promise<void> {
    const list = this.breakpoints().filter((b) => b.kind === 'line' && b.file === file);
    const body = await this.session.request<P.SetBreakpointsResponse['body']>('setBreakpoints', {
      source: { path: file, name: file.split(/[\\/]/).pop() },
      breakpoints: list.map((b) => ({ line: b.line!, ...(b.condition ? { condition: b.condition } : {}), ...(b.hitCondition ? { hitCondition: b.hitCondition } : {}), ...(b.logMessage ? { logMessage: b.logMessage } : {}) })),
      lines: list.map((b) => b.line!),
      sourceModified: false,
    });
    this.#absorb(list, body?.breakpoints ?? []);
  }

  async #syncFunctions(): Promise<void> {
    const list = this.breakpoints().filter((b) => b.kind === 'function');
    const body = await this.session.request<P.SetFunctionBreakpointsResponse['body']>('setFunctionBreakpoints', {
      breakpoints: list.map((b) => ({ name: b.name!, ...(b.condition ? { condition: b.condition } : {}) })),
    });
    this.#absorb(list, body?.breakpoints ?? []);
  }

  #absorb(list: BreakpointInfo[], answers: P.Breakpoint[]): void {
    list.forEach((b, i) => {
      const a = answers[i];
      if (!a) return;
      b.verified = a.verified;
      if (a.id !== undefined) b.dapId = a.id;
      if (a.line !== undefined && b.kind === 'line') b.line = a.line;
      if (a.message) b.message = a.message;
      else delete b.message;
    });
  }

  // ---- events ----

  async #onEvent(name: string, body: unknown): Promise<void> {
    switch (name) {
      case 'stopped':
        return this.#onStopped(body as P.StoppedEvent['body']);
      case 'continued':
        if (this.#state === 'stopped') {
          this.#state = 'running';
          this.#stop = null;
          this.emit('continued');
        }
        return;
      case 'output': {
        const b = body as P.OutputEvent['body'];
        if (b.category === 'telemetry' || typeof b.output !== 'string') return;
        this.emit('output', { category: b.category ?? 'console', text: b.output });
        return;
      }
      case 'breakpoint': {
        const b = (body as P.BreakpointEvent['body']).breakpoint;
        const info = this.breakpoints().find((x) => x.dapId !== undefined && x.dapId === b.id);
        if (!info) return;
        info.verified = b.verified;
        if (b.line !== undefined && info.kind === 'line') info.line = b.line;
        if (b.message) info.message = b.message;
        else delete info.message;
        this.emit('breakpoint', info);
        return;
      }
      case 'thread': {
        const b = body as P.ThreadEvent['body'];
        if (b.reason === 'exited') this.#threadNames.delete(b.threadId);
        this.emit('thread', { reason: b.reason, threadId: b.threadId });
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
    // One stop at a time: with all threads stopped, a second thread's event does not move the user's focus.
    if (this.#state === 'stopped' && this.#stop && body.threadId !== this.#stop.threadId && body.allThreadsStopped !== false) return;
    let threadId = body.threadId;
    if (threadId === undefined) threadId = (await this.threads())[0]?.id ?? 0;
    const { frames, totalFrames } = await this.#stackTrace(threadId);
    const stop: Stop = {
      reason: body.reason,
      threadId,
      threadName: this.#threadNames.get(threadId) ?? (await this.#threadName(threadId)),
      frames,
      totalFrames,
      breakpoints: this.#hitBreakpoints(body, frames[0]),
      ...(body.description ? { description: body.description } : {}),
      ...(body.text ? { text: body.text } : {}),
    };
    if (body.reason === 'exception' && this.capabilities.supportsExceptionInfoRequest) {
      try {
        const info = await this.session.request<P.ExceptionInfoResponse['body']>('exceptionInfo', { threadId });
        stop.exception = { id: info.exceptionId, ...(info.description ? { description: info.description } : {}) };
      } catch {
        // the stop is still worth showing without it
      }
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

  /** Our numbers for the breakpoints behind a stop: by DAP id when the server names them, else by location. */
  #hitBreakpoints(body: P.StoppedEvent['body'], top: Frame | undefined): number[] {
    if (body.reason !== 'breakpoint' && body.reason !== 'function breakpoint') return [];
    const ids = body.hitBreakpointIds ?? [];
    const byId = this.breakpoints().filter((b) => b.dapId !== undefined && ids.includes(b.dapId));
    if (byId.length > 0) return byId.map((b) => b.number);
    if (!top) return [];
    return this.breakpoints()
      .filter((b) => (b.kind === 'line' ? b.line === top.line && top.path !== null && sameFile(b.file!, top.path) : b.name === top.name))
      .map((b) => b.number);
  }

  async #threadName(threadId: number): Promise<string> {
    await this.threads().catch(() => []);
    return this.#threadNames.get(threadId) ?? `thread ${threadId}`;
  }

  async #stackTrace(threadId: number): Promise<{ frames: Frame[]; totalFrames: number }> {
    const body = await this.session.request<P.StackTraceResponse['body']>('stackTrace', { threadId, startFrame: 0, levels: FRAME_PAGE });
    const frames = (body?.stackFrames ?? []).map((f, index) => this.#frame(f, index));
    return { frames, totalFrames: body?.totalFrames ?? frames.length };
  }

  #frame(f: P.StackFrame, index: number): Frame {
    const remotePath = f.source?.path ?? null;
    return {
      index,
      id: f.id,
      name: f.name,
      remotePath,
      path: remotePath === null ? null : toLocalPath(remotePath, this.pathMappings),
      sourceReference: f.source?.sourceReference ?? 0,
      line: f.line,
      column: f.column,
    };
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

  /** Makes another thread current (all threads are stopped together). */
  async selectThread(threadId: number): Promise<Stop> {
    const stop = this.#requireStop('thread');
    const threads = await this.threads();
    if (!threads.some((t) => t.id === threadId)) throw new LongreachError('LR_BAD_REQUEST', `no thread ${threadId} (threads lists them)`);
    const { frames, totalFrames } = await this.#stackTrace(threadId);
    this.#stop = { reason: stop.reason, threadId, threadName: this.#threadNames.get(threadId) ?? `thread ${threadId}`, frames, totalFrames, breakpoints: [] };
    this.#frameIndex = 0;
    return this.#stop;
  }

  /** Every frame of the current thread (fetches beyond the first page when asked for more). */
  async backtrace(limit = 1000): Promise<Frame[]> {
    const stop = this.#requireStop('backtrace');
    while (stop.frames.length < Math.min(stop.totalFrames, limit)) {
      const body = await this.session.request<P.StackTraceResponse['body']>('stackTrace', { threadId: stop.threadId, startFrame: stop.frames.length, levels: FRAME_PAGE });
      const more = body?.stackFrames ?? [];
      if (more.length === 0) break;
      stop.frames.push(...more.map((f, i) => this.#frame(f, stop.frames.length + i)));
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
    try {
      // The prompt's evaluations may run up to the agent's budget (10 s by default, LONGREACH_EVAL_BUDGET): wait
      // longer than that, so the agent's LR_EVAL_BUDGET answer arrives rather than a client timeout.
      const wait = context === 'repl' ? { timeoutMs: Math.max(this.session.timeoutMs, 60_000) } : {};
      const body = await this.session.request<P.EvaluateResponse['body']>('evaluate', { expression, context, frameId: frame!.id }, wait);
      return { name: expression, value: body.result, ref: body.variablesReference ?? 0, ...(body.type ? { type: body.type } : {}), ...counts(body) };
    } catch (err) {
      if (err instanceof LongreachError && err.code === 'LR_BAD_REQUEST') {
        // debugpy sends a whole traceback; its last line says what went wrong.
        const lines = err.message.split('\n').map((l) => l.trim()).filter(Boolean);
        throw new LongreachError('LR_EVAL_FAILED', lines[0]?.startsWith('Traceback') ? lines[lines.length - 1]! : err.message);
      }
      throw err;
    }
  }

  async scopes(): Promise<{ name: string; ref: number; expensive: boolean }[]> {
    const frame = this.frame;
    if (!frame) this.#requireStop('scopes');
    const body = await this.session.request<P.ScopesResponse['body']>('scopes', { frameId: frame!.id });
    return (body?.scopes ?? []).map((s) => ({ name: s.name, ref: s.variablesReference, expensive: s.expensive }));
  }

  /** The variables of the current frame's scope whose name starts with `prefix` (Locals, Globals). */
  async scopeVariables(prefix: 'local' | 'global'): Promise<Variable[]> {
    const scopes = await this.scopes();
    const scope = scopes.find((s) => s.name.toLowerCase().startsWith(prefix));
    if (!scope) throw new LongreachError('LR_UNSUPPORTED', `this server shows no ${prefix} scope (it has: ${scopes.map((s) => s.name).join(', ') || 'none'})`);
    return this.variables(scope.ref);
  }

  async variables(ref: number, start?: number, count?: number): Promise<Variable[]> {
    if (ref <= 0) throw new LongreachError('LR_BAD_REQUEST', 'that value has no children to expand');
    const body = await this.session.request<P.VariablesResponse['body']>('variables', {
      variablesReference: ref,
      ...(start !== undefined ? { start } : {}),
      ...(count !== undefined ? { count } : {}),
    });
    return (body?.variables ?? [])
      .filter((v) => v.presentationHint?.visibility !== 'internal')
      .map((v) => ({ name: v.name, value: v.value, ref: v.variablesReference, ...(v.type ? { type: v.type } : {}), ...counts(v) }));
  }

  /** `set NAME = EXPR`: setVariable on a local or global when the name is plain, else an assignment in the repl. */
  async assign(target: string, expression: string): Promise<Variable> {
    this.#requireStop('set');
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(target) && this.capabilities.supportsSetVariable) {
      for (const scope of await this.scopes()) {
        if (scope.expensive && !/^global/i.test(scope.name)) continue;
        const vars = await this.variables(scope.ref);
        if (!vars.some((v) => v.name === target)) continue;
        const body = await this.session.request<P.SetVariableResponse['body']>('setVariable', { variablesReference: scope.ref, name: target, value: expression });
        return { name: target, value: body.value, ref: body.variablesReference ?? 0, ...(body.type ? { type: body.type } : {}) };
      }
    }
    await this.evaluate(`${target} = ${expression}`, 'repl');
    return this.evaluate(target, 'repl');
  }

  /** Completions for `text` at its end, in the current frame (empty when the server has none). */
  async completions(text: string): Promise<string[]> {
    if (!this.capabilities.supportsCompletionsRequest) return [];
    const frame = this.frame;
    const body = await this.session.request<P.CompletionsResponse['body']>('completions', { text, column: text.length + 1, ...(frame ? { frameId: frame.id } : {}) }, { timeoutMs: 2000 });
    return (body?.targets ?? []).map((t) => t.text ?? t.label);
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

function counts(v: { namedVariables?: number; indexedVariables?: number; presentationHint?: P.VariablePresentationHint }): { named?: number; indexed?: number; hint?: { kind?: string; lazy?: boolean } } {
  const h = v.presentationHint;
  const hint = h && (h.kind !== undefined || h.lazy !== undefined) ? { hint: { ...(h.kind !== undefined ? { kind: h.kind } : {}), ...(h.lazy !== undefined ? { lazy: h.lazy } : {}) } } : {};
  return { ...(v.namedVariables !== undefined ? { named: v.namedVariables } : {}), ...(v.indexedVariables !== undefined ? { indexed: v.indexedVariables } : {}), ...hint };
}

function sameFile(a: string, b: string): boolean {
  return a === b || a.replace(/\\/g, '/').toLowerCase() === b.replace(/\\/g, '/').toLowerCase();
}

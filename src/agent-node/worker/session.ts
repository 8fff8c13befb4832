// One attached debugger: the DAP dispatch table over the V8 runtime. Every handler returns a body (or a promise
// of one) or throws a LongreachError; the server core turns both into responses.

import { LongreachError } from '../../protocol/errors.js';
import { Lease, type Cdp } from '../inspector/cdp.js';
import type { DebugSessionHandler, SessionContext } from '../../server/gate.js';
import { SLOT, type WorkerConfig } from '../shared.js';
import { SourceMaps } from '../sourcemaps.js';
import { stopReason } from '../translate/frames.js';
import type { PathMapping } from '../translate/paths.js';
import { Breakpoints, type BreakpointSpec } from './breakpoints.js';
import { FunctionBreakpoints, type FunctionBreakpointSpec } from './function-breakpoints.js';
import { loadedSources, source, step, threads } from './handlers/control.js';
import { stacks } from './handlers/stacks.js';
import { completions, evaluate, exceptionInfoRequest, scopes, setVariable, stackTrace, variables } from './handlers/inspect.js';
import { V8Runtime, type PauseState } from './runtime.js';
import { Handles, OBJECT_GROUP, THREAD_ID, badRequest, type Handle, type SessionState } from './state.js';
import { Workers } from './threads/workers.js';
import { log } from '../../protocol/log.js';
import { EXCEPTION_FILTERS } from './capabilities.js';

/** The Python agent's userUnhandled filter has no V8 counterpart: it is refused per filter, never advertised. */
const USER_UNHANDLED =
  'the userUnhandled filter is not supported by the Node.js agent: V8 cannot tell an exception that leaves your code into a library that catches it from one your code catches; use uncaught (or raised)';

type Handler = (args: Record<string, unknown>) => unknown;

/** The exit status of a Node.js program ended by SIGTERM with no handler of its own (what `terminate` sends). */
const SIGTERM_STATUS = 128 + 15;
/** How long a stop at a breakpoint waits for the setBreakpoints answer under way (the answer names its id). */
const STOP_AFTER_ANSWER_MS = 2_000;

export interface AgentHooks {
  /** Runs an expression in the main thread's global scope (for the agent's own hidden helpers). */
  redirectOutput(on: boolean): void;
}

export class NodeDebugSession implements DebugSessionHandler {
  readonly #context: SessionContext;
  readonly #config: WorkerConfig;
  readonly #slots: Int32Array;
  readonly #state: SessionState;
  readonly #table: Record<string, Handler>;
  readonly #functionBreakpoints: FunctionBreakpoints;
  #exceptionMode: 'none' | 'uncaught' | 'all' = 'none';
  #lastAction: 'step' | 'pause' | 'break' | null = null;
  #breakPending = false;
  /** A compiled breakpoint's condition held (prepareStop): V8's debugger stays on until its stop is reported. */
  #compiledStop = false;
  /** A stopped event went out and the client has not yet been told the program runs again. */
  #stoppedSent = false;
  /** The client asked to resume (continue, next...): no continued event for the resume itself (a step sends its own). */
  #resumeExpected = false;
  /** A step was answered and its continued event has not gone out yet. */
  #continuedOwed = false;
  #closed = false;
  #redirect = false;
  /** The last session's teardown: this one connects to the inspector only once it is over. */
  readonly #after: Promise<void>;
  #left: () => void = () => undefined;
  /** Settles once this session, closed, has left the inspector (see V8Runtime.release); there from the start, so that
   * the worker can make the next session wait for it as soon as close() is called. */
  readonly detached: Promise<void> = new Promise((resolve) => (this.#left = resolve));
  /** The breakpoint requests and configurationDone, one at a time in arrival order (see #inOrder). */
  #configuring: Promise<unknown> = Promise.resolve();
  /** worker_threads workers, each a thread of its own (threads/workers.ts). */
  readonly #workers: Workers;

  /**
   * `inspector`: the main-thread session the agent keeps from the first attach to the exit (worker/main.ts); this
   * session borrows it from attach to detach. `after`: the last session's teardown.
   */
  constructor(context: SessionContext, config: WorkerConfig, slots: Int32Array, inspector: Cdp, after: Promise<void> = Promise.resolve()) {
    this.#after = after;
    this.#context = context;
    this.#config = config;
    this.#slots = slots;
    const runtime = new V8Runtime([config.apiUrl], new Lease(inspector));
    const maps = new SourceMaps();
    const send = (event: string, body?: unknown): void => {
      if (!this.#closed) context.sendEvent(event, body);
    };
    this.#state = {
      runtime,
      maps,
      breakpoints: new Breakpoints(runtime, maps, send),
      variables: new Handles<Handle>(),
      sources: new Handles<string>(),
      mappings: [],
      send,
    };
    this.#functionBreakpoints = new FunctionBreakpoints(runtime);
    this.#state.breakpoints.onEdited = () => this.#functionBreakpoints.rebind(); // a script edit drops them in V8
    this.#workers = new Workers(send);
    this.#state.breakpoints.onIdle = () => void this.#inOrder(() => this.#updateDebugger()); // all compiled in: off
    runtime.on('paused', (p) => void this.#onPaused(p).catch(() => undefined));
    runtime.on('resumed', () => this.#onResumed());
    const s = this.#state;
    this.#table = {
      attach: (a) => this.#attach(a),
      configurationDone: () => this.#inOrder(async () => this.#configurationDone()),
      setBreakpoints: (a) => this.#inOrder(() => this.#setBreakpoints(a)),
      setFunctionBreakpoints: (a) => this.#inOrder(() => this.#setFunctionBreakpoints(a)),
      setExceptionBreakpoints: (a) => this.#inOrder(() => this.#setExceptionBreakpoints(a)),
      threads: () => ({ threads: this.#workers.threads((threads() as { threads: { id: number; name: string }[] }).threads) }),
      stackTrace: (a) => stackTrace(s, a),
      scopes: (a) => scopes(s, a),
      variables: (a) => variables(s, a),
      evaluate: (a) => evaluate(s, a),
      setVariable: (a) => setVariable(s, a),
      exceptionInfo: () => exceptionInfoRequest(s),
      completions: (a) => completions(s, a),
      continue: () => this.#continue(),
      next: () => this.#step('next'),
      stepIn: () => this.#step('stepIn'),
      stepOut: () => this.#step('stepOut'),
      pause: () => this.#pause(),
      source: (a) => source(s, a),
      loadedSources: () => this.#workers.loadedSources(this.#loadedSources()),
      terminate: () => this.terminate(),
      'longreach/stacks': () => this.#workers.stacks(stacks(s)),
    };
  }

  handle(command: string, args: Record<string, unknown>): unknown {
    // A request naming a worker's thread, frame, variables or source is that worker's to answer.
    const routed = this.#workers.route(command, args);
    if (routed !== undefined) return routed;
    const handler = this.#table[command];
    if (!handler) throw new LongreachError('LR_UNSUPPORTED', `the Node.js agent does not support the ${command} request`);
    return handler(args);
  }

  started(): void {
    this.#context.sendEvent('initialized');
    this.#context.sendEvent('process', { name: this.#config.argv[1] ?? process.execPath, systemProcessId: process.pid, isLocalProcess: false, startMethod: 'attach' });
  }

  /** The program's output, forwarded by the main thread while redirection is on. */
  output(category: string, text: string): void {
    const output = category === 'console' ? this.#state.breakpoints.logText(text) : text; // log points carry a tag
    if (this.#redirect && output !== null) this.#state.send('output', { category, output });
  }

  /** The main thread asked to stop in breakIntoDebugger: make sure V8 will stop at its `debugger` statement. */
  async prepareBreak(): Promise<void> {
    this.#breakPending = true;
    await this.#state.runtime.enableDebugger();
  }

  /**
   * The main thread is about to run a compiled breakpoint's `debugger` statement (its condition held): V8's debugger
   * must be on for it to stop. In turn with breakpoint changes, so none of them switches it off meanwhile. A removed
   * breakpoint whose insert still runs (V8 refused to take it out yet, or an earlier session's detach could not) does
   * not stop: false tells the insert to skip its `debugger` statement (api.ts, helpers.stop).
   */
  prepareStop(tag: string): Promise<boolean> {
    return this.#inOrder(async () => {
      if (this.#closed || !this.#state.breakpoints.isLive(tag)) return false;
      this.#compiledStop = true;
      await this.#state.runtime.enableDebugger();
      return true;
    });
  }

  /** The program is exiting: tell the client; let stopped workers go (the process cannot end while one is stopped). */
  exiting(code: number): Promise<void> {
    this.#state.send('exited', { exitCode: code });
    this.#state.send('terminated');
    return this.#workers.stop();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    Atomics.store(this.#slots, SLOT.ATTACHED, 0);
    Atomics.store(this.#slots, SLOT.CONFIGURED, 0);
    // also with redirection off: this resets the program's hit counters, which count per session
    this.#hooks(false);
    await this.#state.breakpoints.restoreScripts().catch(() => undefined); // compiled breakpoints out of the scripts
    // Releasing the runtime resumes the program, switches the Debugger domain off (every breakpoint and exception
    // setting goes), releases the session's object groups and listeners, and gives the kept inspector session back
    // (V8Runtime.release). It happens one turn later so the disconnect response leaves before a resumed program can
    // run to its end, and after every worker thread has been released (bounded).
    const runtime = this.#state.runtime;
    const released = this.#workers.stop();
    const left = this.#left;
    setImmediate(() => void released.finally(() => runtime.release().then(left, left)));
  }

  async terminate(): Promise<void> {
    // The order of a program that ends by itself (docs/protocol.md 5.2). The program gets SIGTERM below: without a
    // handler of its own it ends with status 128 + 15.
    this.#state.send('exited', { exitCode: SIGTERM_STATUS });
    this.#state.send('terminated');
    await this.close();
    setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20);
    return undefined;
  }

  async #attach(args: Record<string, unknown>): Promise<unknown> {
    await this.#after;
    const mappings = Array.isArray(args.pathMappings) ? args.pathMappings : [];
    const valid: PathMapping[] = [];
    for (const m of mappings) {
      const { localRoot, remoteRoot } = (m ?? {}) as { localRoot?: unknown; remoteRoot?: unknown };
      if (typeof localRoot !== 'string' || typeof remoteRoot !== 'string') throw badRequest('pathMappings entries need localRoot and remoteRoot strings');
      valid.push({ localRoot, remoteRoot });
    }
    this.#state.mappings = valid;
    this.#state.breakpoints.mappings = valid;
    this.#state.runtime.connect();
    this.#workers.start(valid);
    const redirect = args.redirectOutput === undefined ? this.#config.redirectOutput : args.redirectOutput !== false;
    if (redirect) this.#hooks(true);
    Atomics.store(this.#slots, SLOT.ATTACHED, 1);
    return undefined;
  }

  /**
   * Runs breakpoint requests one after another, in the order they came: a client may send them all at once (VS Code
   * does, and so does a job session, docs/protocol.md 5.3), and one that switches the Debugger domain off while
   * another's breakpoints are being set would lose them. configurationDone waits its turn too, so a program held
   * until then (waitForAttach, a job's new child) runs only once its breakpoints are in.
   */
  #inOrder<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#configuring.then(fn, fn);
    this.#configuring = run.catch(() => undefined);
    return run;
  }

  #hooks(on: boolean): void {
    this.#redirect = on;
    const expression = `globalThis[Symbol.for('longreach.agent')]?.redirect(${on})`;
    this.#state.runtime.cdp.post('Runtime.evaluate', { expression, silent: true }).catch(() => undefined);
  }

  #configurationDone(): unknown {
    this.#workers.configured();
    Atomics.store(this.#slots, SLOT.CONFIGURED, 1);
    Atomics.add(this.#slots, SLOT.CONFIGURATIONS, 1);
    Atomics.notify(this.#slots, SLOT.CONFIGURATIONS);
    return undefined;
  }

  async #setBreakpoints(args: Record<string, unknown>): Promise<unknown> {
    const src = (args.source ?? {}) as { path?: unknown };
    if (typeof src.path !== 'string' || src.path === '') throw badRequest('setBreakpoints needs source.path (the file as the client sees it)');
    const list = Array.isArray(args.breakpoints) ? (args.breakpoints as BreakpointSpec[]) : Array.isArray(args.lines) ? (args.lines as number[]).map((line) => ({ line })) : [];
    for (const bp of list) {
      if (typeof bp?.line !== 'number' || bp.line < 1) throw badRequest('every breakpoint needs a line number (1-based)');
    }
    const answered = await this.#state.breakpoints.set(src.path, list);
    // the main thread may pause at one of them at once: the workers' answers wait for no pause (workers.ts)
    const runtime = this.#state.runtime;
    let onPaused = (): void => undefined;
    const paused = runtime.paused ? Promise.resolve() : new Promise<void>((resolve) => runtime.once('paused', (onPaused = () => resolve())));
    try {
      const breakpoints = await this.#workers.setBreakpoints(src.path, list, answered, paused);
      await this.#updateDebugger();
      return { breakpoints };
    } finally {
      runtime.off('paused', onPaused);
    }
  }

  async #setFunctionBreakpoints(args: Record<string, unknown>): Promise<unknown> {
    const list = Array.isArray(args.breakpoints) ? (args.breakpoints as FunctionBreakpointSpec[]) : [];
    const specs = list.map((b) => b ?? {});
    const breakpoints = await this.#workers.setFunctionBreakpoints(specs, await this.#functionBreakpoints.set(specs));
    await this.#updateDebugger();
    return { breakpoints };
  }

  async #setExceptionBreakpoints(args: Record<string, unknown>): Promise<unknown> {
    const filters = Array.isArray(args.filters) ? args.filters.map(String) : [];
    for (const f of filters) {
      if (!EXCEPTION_FILTERS.some((e) => e.filter === f) && f !== 'userUnhandled') throw badRequest(`unknown exception filter ${JSON.stringify(f)}; use raised or uncaught`);
    }
    this.#exceptionMode = filters.includes('raised') ? 'all' : filters.includes('uncaught') ? 'uncaught' : 'none';
    if (this.#exceptionMode !== 'none') {
      await this.#state.runtime.enableDebugger();
      await this.#state.runtime.cdp.post('Debugger.setPauseOnExceptions', { state: this.#exceptionMode });
    } else if (this.#state.runtime.debuggerOn) {
      await this.#state.runtime.cdp.post('Debugger.setPauseOnExceptions', { state: 'none' });
    }
    await this.#workers.setExceptions(this.#exceptionMode);
    await this.#updateDebugger();
    return { breakpoints: filters.map((f) => (f === 'userUnhandled' ? { verified: false, message: USER_UNHANDLED } : { verified: true })) };
  }

  async #continue(): Promise<unknown> {
    this.#lastAction = null;
    this.#resumeExpected = true;
    const runtime = this.#state.runtime;
    if (!runtime.paused) {
      await this.#inOrder(() => this.#updateDebugger());
    } else {
      // One turn later, so the continue response leaves before a resumed program can run to its end and exit; and
      // once a breakpoint change under way is complete (compiled breakpoints: an edit and the breakpoints set again).
      setImmediate(() => {
        void this.#state.breakpoints.settled().then(() => runtime.cdp.post('Debugger.resume')).then(() => this.#inOrder(() => this.#updateDebugger())).catch((err: unknown) => log('agent', `resume failed: ${String(err)}`));
      });
    }
    return { allThreadsContinued: this.#workers.none };
  }

  async #step(kind: 'next' | 'stepIn' | 'stepOut'): Promise<unknown> {
    this.#lastAction = 'step';
    this.#resumeExpected = true;
    // A step response cannot say that every thread runs again: a continued event says it after the response
    // (which the gate sends within this turn), and in any case before the step's stopped event (#onPaused).
    this.#continuedOwed = true;
    try {
      await step(this.#state, kind);
    } catch (err) {
      this.#continuedOwed = false;
      throw err;
    }
    setImmediate(() => this.#sendOwedContinued());
    return undefined;
  }

  #sendOwedContinued(): void {
    if (!this.#continuedOwed) return;
    this.#continuedOwed = false;
    this.#state.send('continued', { threadId: THREAD_ID, allThreadsContinued: this.#workers.none });
  }

  async #pause(): Promise<unknown> {
    if (this.#state.runtime.paused) return undefined;
    this.#lastAction = 'pause';
    await this.#state.runtime.enableDebugger();
    await this.#state.runtime.cdp.post('Debugger.pause');
    return undefined;
  }

  async #loadedSources(): Promise<unknown> {
    const wasOn = this.#state.runtime.debuggerOn;
    await this.#state.runtime.enableDebugger();
    const result = await loadedSources(this.#state);
    if (!wasOn) await this.#inOrder(() => this.#updateDebugger());
    return result;
  }

  /**
   * Keeps the V8 Debugger domain off unless something needs it: with it on, async/await code runs 5-10x slower, even
   * with no breakpoint (docs/performance.md). Breakpoints compiled into their scripts do not need it until one stops
   * (prepareStop). Runs in turn with the breakpoint requests (#inOrder): call it through #inOrder from elsewhere.
   */
  async #updateDebugger(): Promise<void> {
    if (this.#closed) return;
    await this.#state.breakpoints.settled();
    const runtime = this.#state.runtime;
    const wanted =
      this.#state.breakpoints.needsDebugger ||
      this.#functionBreakpoints.count > 0 ||
      this.#exceptionMode !== 'none' ||
      this.#lastAction !== null ||
      this.#breakPending ||
      this.#compiledStop ||
      runtime.paused !== null;
    if (!wanted && runtime.debuggerOn) {
      await runtime.disableDebugger();
      this.#state.breakpoints.forgetV8();
      this.#functionBreakpoints.forgetV8();
    }
  }

  async #onPaused(p: PauseState): Promise<void> {
    const runtime = this.#state.runtime;
    if (p.reason === 'instrumentation') {
      const script = runtime.scripts.get(String(p.data?.scriptId ?? ''));
      if (script) await this.#state.breakpoints.scriptWithMap(script).catch(() => undefined);
      if (p.hitBreakpoints.length === 0 || p.hitBreakpoints.every((id) => id.startsWith('instrumentation'))) {
        await runtime.cdp.post('Debugger.resume').catch(() => undefined);
        return;
      }
    }
    const top = p.callFrames[0];
    if (this.#breakPending && top && runtime.isHidden(top.location.scriptId)) {
      // breakIntoDebugger's own `debugger` statement: stop here; the stack starts at the caller's line.
      this.#breakPending = false;
      this.#lastAction = 'break';
    } else if (top && runtime.isHidden(top.location.scriptId)) {
      // Any other stop inside the agent itself (a step into it) is never shown: keep going.
      await runtime.cdp.post('Debugger.stepOut');
      return;
    }
    // Compiled breakpoints (script-edits.ts): step past the inserted statement, report the stop at the line's own.
    const compiled = top ? this.#state.breakpoints.compiledPause(top.location, this.#lastAction === 'step', p.hitBreakpoints) : null;
    if (compiled === 'skip') return;
    this.#compiledStop = false;
    let functionHits = this.#functionBreakpoints.dapIds(p.hitBreakpoints);
    let hit = [...new Set([...(compiled ?? []), ...this.#state.breakpoints.dapIds(p.hitBreakpoints), ...functionHits])];
    if (hit.length === 0 && p.hitBreakpoints.length > 0) {
      // V8 hit a breakpoint whose id has not come back to us yet (set while the program runs): wait for it
      await this.#state.breakpoints.settled();
      functionHits = this.#functionBreakpoints.dapIds(p.hitBreakpoints);
      hit = [...this.#state.breakpoints.dapIds(p.hitBreakpoints), ...functionHits];
    }
    let reason = stopReason(p.reason, hit.length ? (compiled ?? p.hitBreakpoints).map(String) : [], this.#lastAction === 'break' ? 'pause' : this.#lastAction);
    if (reason === 'breakpoint' && functionHits.length === hit.length) reason = 'function breakpoint';
    const body: Record<string, unknown> = { reason, threadId: THREAD_ID, allThreadsStopped: this.#workers.none };
    if (hit.length) body.hitBreakpointIds = hit;
    if (reason === 'exception') {
      const exc = p.data as { description?: string; className?: string } | undefined;
      body.description = 'Paused on exception';
      body.text = exc?.description?.split('\n', 1)[0] ?? exc?.className ?? 'exception';
    }
    this.#lastAction = null;
    if (hit.length) {
      // A breakpoint hit as soon as it was set: its setBreakpoints answer (which gives the client its id) goes first,
      // or the stop would name an id the client does not know yet. Bounded: a stop is never held for long.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#configuring, new Promise((resolve) => (timer = setTimeout(resolve, STOP_AFTER_ANSWER_MS)))]);
      clearTimeout(timer);
    }
    // Let the response to the request that resumed the program (continue, next...) go out first.
    await new Promise((resolve) => setImmediate(resolve));
    if (runtime.paused !== p) return; // already running again (resumed from elsewhere): nothing to report
    this.#stoppedSent = true;
    this.#resumeExpected = false;
    this.#sendOwedContinued();
    this.#state.send('stopped', body);
  }

  #onResumed(): void {
    // Resumed without the client asking (another inspector session, the agent itself): tell the client.
    if (this.#stoppedSent && !this.#resumeExpected) this.#state.send('continued', { threadId: THREAD_ID, allThreadsContinued: this.#workers.none });
    this.#stoppedSent = false;
    this.#resumeExpected = false;
    this.#state.breakpoints.nudge(); // compiled breakpoints V8 refused while a frame ran: try again
    void this.#inOrder(() => this.#updateDebugger()); // running on: V8's debugger may go off
    this.#state.variables.clear();
    this.#state.runtime.cdp.post('Runtime.releaseObjectGroup', { objectGroup: OBJECT_GROUP }).catch(() => undefined);
  }
}

export { SourceMaps };

// One worker_threads worker, debugged as one DAP thread of the process: its own V8 runtime over its inspector
// channel, its own breakpoints (the session's, set again in this isolate), and its own stops. A stop here holds
// this worker alone: the main thread and the other workers run on (allThreadsStopped: false).

import { LongreachError } from '../../../protocol/errors.js';
import { SourceMaps } from '../../sourcemaps.js';
import { stopReason } from '../../translate/frames.js';
import type { PathMapping } from '../../translate/paths.js';
import { Breakpoints, type BreakpointSpec, type DapBreakpoint } from '../breakpoints.js';
import { FunctionBreakpoints, type DapFunctionBreakpoint, type FunctionBreakpointSpec } from '../function-breakpoints.js';
import { source, step } from '../handlers/control.js';
import { completions, evaluate, exceptionInfoRequest, scopes, setVariable, stackTrace, variables } from '../handlers/inspect.js';
import { stacks } from '../handlers/stacks.js';
import { V8Runtime, type PauseState } from '../runtime.js';
import { Handles, OBJECT_GROUP, badRequest, type Handle, type SessionState } from '../state.js';
import type { WorkerChannel } from './channel.js';
import { installHelpers, removeHelpers } from './helpers.js';
import type { IdMap } from './ids.js';

export type ExceptionMode = 'none' | 'uncaught' | 'all';

/** While a worker is stopped, how often the agent checks whether the program asked for its end (see #probe). */
const PROBE_MS = 500;
/** At the detach, settings still being set in this worker are waited for at most this long. */
const SETTLE_MS = 1000;
/** A pause that follows a continue waits at most this long for the worker to leave its stop. */
const RESUME_WAIT_MS = 2000;
const TERMINATED = /Execution was terminated/;

/** What the thread tells the session (through the workers' manager). */
export interface ThreadEvents {
  send(event: string, body?: unknown): void;
  /** A breakpoint became verified in this worker (its id already the client's). */
  verified(breakpoint: DapBreakpoint): void;
}

export interface ThreadInfo {
  /** The client's thread id: the worker's threadId + 1 (the main thread, threadId 0, is 1). */
  id: number;
  name: string;
}

export class WorkerThread {
  readonly id: number;
  readonly name: string;
  readonly channel: WorkerChannel;
  readonly state: SessionState;
  readonly #ids: IdMap<WorkerThread>;
  readonly #events: ThreadEvents;
  readonly #functions: FunctionBreakpoints;
  /** This worker's breakpoint ids → the client's (the main thread's answer for the same breakpoint). */
  readonly #bpIds = new Map<number, number>();
  readonly #bpByPath = new Map<string, number[]>();
  readonly #fbpIds = new Map<number, number>();
  #exceptionMode: ExceptionMode = 'none';
  #lastAction: 'step' | 'pause' | null = null;
  #stoppedSent = false;
  #resumeExpected = false;
  #continuedOwed = false;
  /** Pause requests that came while a resume was under way. */
  readonly #onceResumed: (() => void)[] = [];
  #ended = false;
  /** Held at its start (waiting for the debugger) until the session's settings are set there (Workers.#join). */
  held = false;
  #helpers = false;
  #probe: NodeJS.Timeout | null = null;
  #terminating = false;
  /** Settings are applied one at a time (a worker joining while the client changes them). */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(info: ThreadInfo, channel: WorkerChannel, ids: IdMap<WorkerThread>, events: ThreadEvents, mappings: PathMapping[]) {
    this.id = info.id;
    this.name = info.name;
    this.channel = channel;
    this.#ids = ids;
    this.#events = events;
    const runtime = new V8Runtime([], channel);
    const maps = new SourceMaps();
    const breakpoints = new Breakpoints(runtime, maps, (event, body) => this.#breakpointEvent(event, body));
    breakpoints.mappings = mappings;
    // Conditions and log points stay V8's own here, never compiled into the worker's scripts: an edit is a run of
    // messages (script text, break locations, setScriptSource) that goes on by itself, and often still ran when a
    // worker let go at its last stop reached its end, where a message meeting the worker's teardown aborts the
    // whole program in Node 20 (see #releaseObjects). Nothing goes to a running worker but what a request needs.
    breakpoints.compiles = false;
    this.state = { runtime, maps, breakpoints, variables: new Handles<Handle>(), sources: new Handles<string>(), mappings, send: (e, b) => events.send(e, b) };
    this.#functions = new FunctionBreakpoints(runtime);
    runtime.on('paused', (p) => void this.#onPaused(p).catch(() => undefined));
    runtime.on('resumed', () => this.#onResumed());
    runtime.connect();
  }

  /** The Debugger domain is needed from the start (breakpoints or exception filters to set). */
  get wanted(): boolean {
    return this.state.breakpoints.count > 0 || this.#functions.count > 0 || this.#exceptionMode !== 'none';
  }

  // ---- the session's settings, set again here ----

  #serial<T>(work: () => Promise<T>): Promise<T> {
    // none starts once the worker is let go (release) or has ended: it would post to a worker that runs undebugged
    const run = (): Promise<T> => (this.#ended ? Promise.reject(new Error(`${this.name} is no longer debugged`)) : work());
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  setBreakpoints(path: string, specs: BreakpointSpec[], answered: DapBreakpoint[]): Promise<DapBreakpoint[]> {
    return this.#serial(() => this.#setBreakpoints(path, specs, answered));
  }

  setFunctionBreakpoints(specs: FunctionBreakpointSpec[], answered: DapFunctionBreakpoint[]): Promise<DapFunctionBreakpoint[]> {
    return this.#serial(() => this.#setFunctionBreakpoints(specs, answered));
  }

  setExceptions(mode: ExceptionMode): Promise<void> {
    return this.#serial(() => this.#setExceptions(mode));
  }

  async #setBreakpoints(path: string, specs: BreakpointSpec[], answered: DapBreakpoint[]): Promise<DapBreakpoint[]> {
    for (const old of this.#bpByPath.get(path) ?? []) this.#bpIds.delete(old);
    await this.#ensureHelpers(specs.some((s) => !!s.hitCondition || !!s.logMessage));
    const mine = await this.state.breakpoints.set(path, specs);
    const ids: number[] = [];
    mine.forEach((bp, i) => {
      const theirs = answered[i]?.id;
      if (theirs === undefined) return;
      this.#bpIds.set(bp.id, theirs);
      ids.push(bp.id);
    });
    this.#bpByPath.set(path, ids);
    await this.#update();
    return mine.map((bp, i) => ({ ...bp, id: answered[i]?.id ?? bp.id }));
  }

  async #setFunctionBreakpoints(specs: FunctionBreakpointSpec[], answered: DapFunctionBreakpoint[]): Promise<DapFunctionBreakpoint[]> {
    this.#fbpIds.clear();
    if (specs.some((s) => !!s.hitCondition)) await this.#ensureHelpers(true);
    const mine = await this.#functions.set(specs);
    mine.forEach((bp, i) => {
      const theirs = answered[i]?.id;
      if (theirs !== undefined) this.#fbpIds.set(bp.id, theirs);
    });
    await this.#update();
    return mine.map((bp, i) => ({ ...bp, id: answered[i]?.id ?? bp.id }));
  }

  async #setExceptions(mode: ExceptionMode): Promise<void> {
    this.#exceptionMode = mode;
    const runtime = this.state.runtime;
    if (mode !== 'none') {
      await runtime.enableDebugger();
      await runtime.cdp.post('Debugger.setPauseOnExceptions', { state: mode });
    } else if (runtime.debuggerOn) {
      await runtime.cdp.post('Debugger.setPauseOnExceptions', { state: 'none' });
    }
    await this.#update();
  }

  async #ensureHelpers(needed: boolean): Promise<void> {
    if (!needed || this.#helpers) return;
    this.#helpers = true;
    // log point text carries its breakpoint's tag (a removed log point's late lines are dropped), as on the main thread
    const emit = (text: string): void => {
      const output = this.state.breakpoints.logText(text);
      if (output !== null) this.#events.send('output', { category: 'console', output });
    };
    await installHelpers(this.state.runtime.cdp, emit).catch(() => undefined);
  }

  // ---- requests the session routed here ----

  /** A request for this worker's thread, frames, variables or sources; the ids in args are already its own. */
  async request(command: string, args: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.#request(command, args);
    } catch (err) {
      if (!TERMINATED.test(String((err as Error)?.message))) throw err;
      this.#terminated();
      throw new LongreachError('LR_NOT_STOPPED', `${this.name} is ending (the program terminated it); it runs to its end now`);
    }
  }

  async #request(command: string, args: Record<string, unknown>): Promise<unknown> {
    const s = this.state;
    switch (command) {
      case 'stackTrace':
        return this.#outward(stackTrace(s, args));
      case 'scopes':
        return this.#outward(scopes(s, args));
      case 'variables':
        return this.#outward(await variables(s, args));
      case 'evaluate':
        return this.#outward(await evaluate(s, args));
      case 'setVariable':
        return this.#outward(await setVariable(s, args));
      case 'completions':
        return completions(s, args);
      case 'exceptionInfo':
        return exceptionInfoRequest(s);
      case 'source':
        return source(s, args);
      case 'continue':
        return this.#continue();
      case 'next':
      case 'stepIn':
      case 'stepOut':
        return this.#step(command);
      case 'pause':
        return this.#pause();
      case 'longreach/stacks':
        return stacks(s);
      default:
        throw new LongreachError('LR_UNSUPPORTED', `${command} is not a request for one thread`);
    }
  }

  /** The client's ids in a handler's answer (frames, variables, sources). */
  #outward(body: unknown): unknown {
    if (!body || typeof body !== 'object') return body;
    const b = body as Record<string, unknown>;
    const vars = (o: Record<string, unknown>): void => {
      if (typeof o.variablesReference === 'number' && o.variablesReference > 0) o.variablesReference = this.#ids.outward(this, 'variables', o.variablesReference);
    };
    vars(b);
    for (const key of ['scopes', 'variables'] as const) {
      if (Array.isArray(b[key])) for (const item of b[key] as Record<string, unknown>[]) vars(item);
    }
    if (Array.isArray(b.stackFrames)) {
      for (const f of b.stackFrames as { id: number; source?: { sourceReference?: number } }[]) {
        f.id = this.#ids.outward(this, 'frame', f.id);
        if (f.source && typeof f.source.sourceReference === 'number' && f.source.sourceReference > 0) f.source.sourceReference = this.#ids.outward(this, 'source', f.source.sourceReference);
      }
    }
    return b;
  }

  async #continue(): Promise<unknown> {
    this.#lastAction = null;
    const runtime = this.state.runtime;
    if (!runtime.paused) {
      await this.#update();
    } else {
      this.#resumeExpected = true;
      // The probe goes now: one sent after the resume could meet the worker's teardown (see #releaseObjects).
      this.#stopProbe();
      // One turn later, so the continue response leaves before the worker can stop again.
      setImmediate(() => {
        this.#releaseObjects();
        // Nothing follows the resume, not even switching an unneeded Debugger domain off (see #releaseObjects): it
        // stays on until the session's next settings or its end.
        void runtime.cdp.post('Debugger.resume').catch(() => undefined);
      });
    }
    return { allThreadsContinued: false };
  }

  async #step(kind: 'next' | 'stepIn' | 'stepOut'): Promise<unknown> {
    this.#lastAction = 'step';
    this.#resumeExpected = true;
    this.#continuedOwed = true;
    this.#stopProbe();
    try {
      if (this.state.runtime.paused) this.#releaseObjects();
      await step(this.state, kind);
    } catch (err) {
      this.#continuedOwed = false;
      const still = this.state.runtime.paused;
      if (still) this.#startProbe(still); // the step failed: the worker stays stopped
      throw err;
    }
    setImmediate(() => this.#sendOwedContinued());
    return undefined;
  }

  #sendOwedContinued(): void {
    if (!this.#continuedOwed) return;
    this.#continuedOwed = false;
    this.#events.send('continued', { threadId: this.id, allThreadsContinued: false });
  }

  async #pause(): Promise<unknown> {
    // Right after a continue, the worker may not have left its stop yet: it is paused again once it has (bounded).
    if (this.state.runtime.paused && this.#resumeExpected) {
      await new Promise<void>((resolve) => {
        this.#onceResumed.push(resolve);
        setTimeout(resolve, RESUME_WAIT_MS).unref();
      });
    }
    if (this.state.runtime.paused) return undefined;
    this.#lastAction = 'pause';
    await this.state.runtime.enableDebugger();
    await this.state.runtime.cdp.post('Debugger.pause');
    return undefined;
  }

  /** Keeps this worker's Debugger domain off unless something needs it (as the main thread's). */
  async #update(): Promise<void> {
    const runtime = this.state.runtime;
    if (this.wanted || this.#lastAction !== null || runtime.paused !== null || !runtime.debuggerOn) return;
    await runtime.disableDebugger();
    this.state.breakpoints.forgetV8();
    this.#functions.forgetV8();
  }

  // ---- what the worker does ----

  #breakpointEvent(event: string, body: unknown): void {
    const bp = (body as { breakpoint?: DapBreakpoint } | undefined)?.breakpoint;
    if (event !== 'breakpoint' || !bp) return;
    const theirs = this.#bpIds.get(bp.id);
    if (theirs !== undefined && bp.verified) this.#events.verified({ ...bp, id: theirs });
  }

  async #onPaused(p: PauseState): Promise<void> {
    const runtime = this.state.runtime;
    if (p.reason === 'instrumentation') {
      const script = runtime.scripts.get(String(p.data?.scriptId ?? ''));
      if (script) await this.state.breakpoints.scriptWithMap(script).catch(() => undefined);
      if (p.hitBreakpoints.length === 0 || p.hitBreakpoints.every((id) => id.startsWith('instrumentation'))) {
        await runtime.cdp.post('Debugger.resume').catch(() => undefined);
        return;
      }
    }
    const lineHits = () => [...this.state.breakpoints.dapIds(p.hitBreakpoints)].map((id) => this.#bpIds.get(id)).filter((id): id is number => id !== undefined);
    const functionHits = () => this.#functions.dapIds(p.hitBreakpoints).map((id) => this.#fbpIds.get(id)).filter((id): id is number => id !== undefined);
    let hit = [...lineHits(), ...functionHits()];
    if (hit.length === 0 && p.hitBreakpoints.length > 0) {
      await this.state.breakpoints.settled();
      hit = [...lineHits(), ...functionHits()];
    }
    // A worker held at its start and released with the Debugger on stops once before its first statement ("Break
    // on start"): not a stop the user asked for, unless a breakpoint is on that very statement.
    const atStart = p.reason === 'Break on start' || (p.reason === 'ambiguous' && (p.data?.reasons as { reason: string }[] | undefined)?.some((r) => r.reason === 'Break on start'));
    if (atStart && hit.length === 0 && this.#lastAction === null) {
      await runtime.cdp.post('Debugger.resume').catch(() => undefined);
      return;
    }
    let reason = stopReason(p.reason, hit.length ? p.hitBreakpoints : [], this.#lastAction);
    if (reason === 'breakpoint' && hit.length > 0 && functionHits().length === hit.length) reason = 'function breakpoint';
    const body: Record<string, unknown> = { reason, threadId: this.id, allThreadsStopped: false };
    if (hit.length) body.hitBreakpointIds = hit;
    if (reason === 'exception') {
      const exc = p.data as { description?: string; className?: string } | undefined;
      body.description = 'Paused on exception';
      body.text = exc?.description?.split('\n', 1)[0] ?? exc?.className ?? 'exception';
    }
    this.#lastAction = null;
    await new Promise((resolve) => setImmediate(resolve));
    if (runtime.paused !== p || this.#ended) return;
    this.#stoppedSent = true;
    this.#resumeExpected = false;
    this.#sendOwedContinued();
    this.#events.send('stopped', body);
    this.#startProbe(p);
  }

  /**
   * V8 cannot end a thread stopped in the debugger: `worker.terminate()` (or the worker's parent ending) waits until
   * it runs again, and the first evaluation in it fails with "Execution was terminated" instead. So while stopped,
   * the agent evaluates a trivial call every PROBE_MS; when that fails, the program wants the worker gone: it is
   * terminated again (Runtime.terminateExecution) and resumed, and ends as it would have without a debugger.
   */
  #startProbe(p: PauseState): void {
    const frame = p.callFrames[0];
    if (!frame || this.#probe) return;
    const cdp = this.state.runtime.cdp;
    this.#probe = setInterval(() => {
      if (this.state.runtime.paused !== p) return this.#stopProbe();
      cdp.post('Debugger.evaluateOnCallFrame', { callFrameId: frame.callFrameId, expression: '(() => 0)()', silent: true }).catch((err: unknown) => {
        if (TERMINATED.test(String((err as Error)?.message))) this.#terminated();
      });
    }, PROBE_MS);
    this.#probe.unref();
  }

  #stopProbe(): void {
    if (this.#probe) clearInterval(this.#probe);
    this.#probe = null;
  }

  #terminated(): void {
    if (this.#terminating || this.#ended) return;
    this.#terminating = true;
    this.#stopProbe();
    const cdp = this.state.runtime.cdp;
    this.#releaseObjects();
    void cdp.post('Runtime.terminateExecution').catch(() => undefined);
    void cdp.post('Debugger.resume').catch(() => undefined);
  }

  #onResumed(): void {
    for (const resolve of this.#onceResumed.splice(0)) resolve();
    this.#stopProbe();
    if (this.#stoppedSent && !this.#resumeExpected && !this.#ended) this.#events.send('continued', { threadId: this.id, allThreadsContinued: false });
    this.#stoppedSent = false;
    this.#resumeExpected = false;
    this.state.variables.clear();
    this.#ids.drop(this, ['frame', 'variables']);
  }

  /**
   * What the stop's requests made V8 keep (frames, values) goes before the worker runs again, never after: a worker
   * that runs on to its end may already be tearing down when a late message reaches it, and Node 20 aborts the whole
   * process when a message for a worker meets its inspector's teardown (MainThreadInterface::Post).
   */
  #releaseObjects(): void {
    this.state.runtime.cdp.post('Runtime.releaseObjectGroup', { objectGroup: OBJECT_GROUP }).catch(() => undefined);
  }

  /** The worker has ended. Returns whether it was stopped (the client is told it runs no more, then that it exited). */
  ended(): boolean {
    const wasStopped = this.#stoppedSent;
    this.#ended = true;
    this.#stopProbe();
    this.#ids.drop(this);
    this.state.runtime.disconnect();
    return wasStopped;
  }

  /**
   * A worker whose release by the previous debugging session was cut short by this one (it was blocked in a system
   * call): what that session left there goes first, its breakpoints (with its Debugger domain) and its helpers.
   */
  reset(): Promise<void> {
    const cdp = this.state.runtime.cdp;
    return this.#serial(async () => {
      await cdp.post('Debugger.disable').catch(() => undefined);
      await removeHelpers(cdp).catch(() => undefined);
    });
  }

  /** The debugger detaches: the worker runs on as without one (breakpoints gone, resumed, helpers removed). */
  async release(): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    this.#stopProbe();
    const runtime = this.state.runtime;
    const cdp = runtime.cdp;
    // A worker that joins as the debugger detaches may still be given the session's settings: those already under
    // way end first (bounded), none starts after, and nothing switches its Debugger domain on from now on. One that
    // came after the run below would stop the worker at its first line with nobody to let it go.
    runtime.refuseDebugger();
    const held = this.held;
    this.held = false; // Workers.#join lets it run no more: this does, last
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#queue, new Promise<void>((resolve) => (timer = setTimeout(resolve, SETTLE_MS)))]);
    clearTimeout(timer);
    // Everything else first: switching the Debugger domain off drops this session's breakpoints and resumes a
    // stopped worker, which may then run to its end, and a message that meets a worker's teardown aborts the
    // process in Node 20 (see #releaseObjects). Only a worker still held at its start is sent one more.
    if (this.#helpers) await removeHelpers(cdp).catch(() => undefined);
    const last: Promise<unknown>[] = [];
    if (runtime.debuggerOn) last.push(cdp.post('Debugger.disable').catch(() => undefined));
    if (held) last.push(cdp.post('Runtime.runIfWaitingForDebugger').catch(() => this.channel.letRun()));
    // Those are the last messages of ours this worker gets: anything else still under way here (a handler of an event
    // that came before them, a request of this session's) is refused from now on, never sent to a worker that may be
    // running to its end (the worker answers these two in order, after everything sent before them).
    this.channel.seal();
    await Promise.all(last);
    this.#ids.drop(this);
    runtime.disconnect();
  }
}

/** An id that names a thread that has no worker (any more). */
export function noSuchThread(id: unknown): LongreachError {
  return badRequest(`thread ${String(id)} does not exist (it may have ended); send threads for the current list`);
}

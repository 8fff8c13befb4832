// Line breakpoints: DAP setBreakpoints ↔ V8 breakpoints. Plain JavaScript files get URL breakpoints that V8 binds
// to the file now or when it loads; files reached through source maps (TypeScript) are placed at the generated
// position of every loaded script whose map names them, and, until one loads, an instrumentation breakpoint
// stops each new source-mapped script briefly so its breakpoints are placed before its first line runs.
// Conditional breakpoints and log points are then compiled into the script where V8 allows (script-edits.ts);
// until then, and where it never does, they keep V8's own condition.

import { existsSync } from 'node:fs';
import { log } from '../../protocol/log.js';
import { SourceMaps } from '../sourcemaps.js';
import { AGENT_GLOBAL } from '../shared.js';
import { buildCondition, untagLog } from '../translate/conditions.js';
import { baseName, chooseTarget, exactUrlRegex, fileNameUrlRegex, rankByFileName, scriptPath, toRemote, type PathMapping } from '../translate/paths.js';
import type { ScriptInfo, V8Runtime } from './runtime.js';
import { ScriptEdits } from './script-edits.js';

export interface BreakpointSpec {
  line: number;
  column?: number;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
}

export interface DapBreakpoint {
  id: number;
  verified: boolean;
  line?: number;
  message?: string;
  source: { path: string; name: string };
}

interface Bp {
  id: number;
  clientPath: string;
  remotePath: string;
  line: number;
  /** V8's condition ('' for none); a condition that throws counts as true, with the error logged. */
  condition: string;
  /** The same, for the statement compiled into the script (which catches errors itself). */
  compiled: string;
  v8Ids: string[];
  /** Scripts this breakpoint was placed in through their source maps. */
  mappedScripts: Set<string>;
  verified: boolean;
  actualLine?: number;
  message?: string;
  /** Its condition, hit condition or log message was refused (bad input): never placed. */
  invalid?: boolean;
}

const JS_EXT = /\.(?:js|mjs|cjs)$/i;
/** Trying again edits V8 refused for now: first after this long, then twice as long each time up to the maximum. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;
/** Tries by timer after one change or resume (about 30 s); each is a compile of the whole script by V8. */
const RETRY_TIMER_MAX = 20;
/** Detach gives scripts their text back for at most RESTORE_TRIES × RESTORE_WAIT_MS while V8 refuses. */
const RESTORE_TRIES = 10;
const RESTORE_WAIT_MS = 50;

/** Breakpoint registries made so far in this agent (one per session): what makes each one's tags its own. */
let sessionsSeen = 0;

export class Breakpoints {
  readonly #runtime: V8Runtime;
  readonly #maps: SourceMaps;
  readonly #send: (event: string, body: unknown) => void;
  readonly #bySource = new Map<string, Bp[]>();
  readonly #byV8 = new Map<string, Bp>();
  #nextId = 1;
  #instrumentationId: string | null = null;
  mappings: PathMapping[] = [];
  /**
   * False: every condition stays V8's own and no script is ever edited (a worker thread's: an edit is a run of
   * messages to a thread that may be running to its end, see threads/thread.ts).
   */
  compiles = true;
  readonly edits: ScriptEdits;
  /** Where each V8 breakpoint is bound (0-based lines), to compile conditions in and to set again after an edit. */
  readonly #where = new Map<string, { scriptId: string; line: number }[]>();
  /** Every change and every retry of the edits, one after the other. */
  #queue: Promise<unknown> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelay = RETRY_FIRST_MS;
  #retryDue = 0;
  #retries = 0;

  /** Tags and hit counters are this session's own: an insert a restore could not take out yet, left from an earlier
   * session, neither counts towards this session's hit conditions nor stops for it. */
  readonly #tagPrefix = `s${++sessionsSeen}bp`;

  tag(bpId: number): string {
    return `${this.#tagPrefix}${bpId}`;
  }

  constructor(runtime: V8Runtime, maps: SourceMaps, send: (event: string, body: unknown) => void) {
    this.#runtime = runtime;
    this.#maps = maps;
    this.#send = send;
    this.edits = new ScriptEdits(runtime, AGENT_GLOBAL, (id) => this.tag(id));
    runtime.on('breakpointResolved', ({ breakpointId, location }) => {
      const bp = this.#byV8.get(breakpointId);
      if (!bp) return;
      this.#where.get(breakpointId)?.push({ scriptId: location.scriptId, line: location.lineNumber });
      if (bp.condition) void this.#enqueue(() => this.#compile(bp)).then(() => this.#kick(0));
      if (bp.verified) return;
      this.#verify(bp, location);
      this.#send('breakpoint', { reason: 'changed', breakpoint: this.#toDap(bp) });
    });
  }

  /**
   * True while some breakpoint needs V8's debugger: one with a V8 breakpoint (plain, or a condition not compiled in
   * everywhere yet) or one not placed yet (a source-mapped file no loaded script names: the instrumentation
   * breakpoint waits for it). Breakpoints compiled into every script they are in need it only to stop
   * (session.ts switches it on then: prepareStop).
   */
  get needsDebugger(): boolean {
    for (const list of this.#bySource.values()) {
      for (const bp of list) {
        if (bp.v8Ids.length > 0) return true;
        if (!bp.invalid && !this.edits.appliedAnywhere(bp.id)) return true;
      }
    }
    return this.edits.pending;
  }

  /** True when `tag` names a breakpoint of this session (a removed one's insert may still run until a flush). */
  isLive(tag: string): boolean {
    return [...this.#bySource.values()].some((list) => list.some((bp) => this.tag(bp.id) === tag));
  }

  /** Called when the edits are done (nothing waits for V8): the session may switch V8's debugger off. */
  onIdle: (() => void) | null = null;

  get count(): number {
    let n = 0;
    for (const list of this.#bySource.values()) n += list.length;
    return n;
  }

  /** The DAP ids of the breakpoints behind V8's hitBreakpoints. */
  dapIds(v8Ids: readonly string[]): number[] {
    const ids = new Set<number>();
    for (const v8 of v8Ids) {
      const bp = this.#byV8.get(v8);
      if (bp) ids.add(bp.id);
    }
    return [...ids];
  }

  /** Resolves once no setBreakpoints is half done (V8 may report a hit before the id that names it came back). */
  settled(): Promise<void> {
    return this.#queue.then(() => undefined);
  }

  /**
   * Conditional breakpoints are placed with V8's condition at once and compiled into their scripts right after the
   * answer (an edit of a large script takes V8 longer than a breakpoint change may).
   */
  async set(clientPath: string, specs: BreakpointSpec[]): Promise<DapBreakpoint[]> {
    const result = await this.#enqueue(() => this.#set(clientPath, specs));
    this.#retries = 0;
    this.#kick(0);
    return result;
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const done = this.#queue.then(work);
    this.#queue = done.catch(() => undefined);
    return done;
  }

  async #set(clientPath: string, specs: BreakpointSpec[]): Promise<DapBreakpoint[]> {
    // Inserts come out (and go in) only with V8's debugger on: it may be off while every breakpoint is compiled in.
    if (this.edits.any || this.edits.pending) await this.#runtime.enableDebugger();
    await this.#clear(clientPath);
    if (specs.length === 0) {
      await this.#updateInstrumentation();
      return [];
    }
    await this.#runtime.enableDebugger();
    const remotePath = toRemote(clientPath, this.mappings);
    const list: Bp[] = [];
    this.#bySource.set(clientPath, list);
    for (const spec of specs) {
      const bp: Bp = { id: this.#nextId++, clientPath, remotePath, line: spec.line, condition: '', compiled: '', v8Ids: [], mappedScripts: new Set(), verified: false };
      list.push(bp);
      try {
        const options = { key: this.tag(bp.id), tag: this.tag(bp.id), condition: spec.condition, hitCondition: spec.hitCondition, logMessage: spec.logMessage };
        bp.compiled = buildCondition(options, AGENT_GLOBAL);
        bp.condition = buildCondition({ ...options, reportErrors: true }, AGENT_GLOBAL);
      } catch (err) {
        bp.message = (err as Error).message;
        bp.invalid = true;
        continue;
      }
      await this.#place(bp);
      await this.#compile(bp);
    }
    await this.#updateInstrumentation();
    return list.map((bp) => this.#toDap(bp));
  }

  /** A new source-mapped script is about to run: place pending breakpoints in it (called while it is paused). */
  async scriptWithMap(script: ScriptInfo): Promise<void> {
    const mapped = this.#maps.load(script.scriptId, script.url, script.sourceMapURL);
    if (!mapped) return;
    for (const list of this.#bySource.values()) {
      for (const bp of list) {
        if (bp.message && !bp.message.startsWith('not loaded')) continue;
        if (!isMappedSource(bp.remotePath) || bp.mappedScripts.has(script.scriptId)) continue;
        const before = bp.verified;
        await this.#placeMapped(bp, script);
        await this.#compile(bp);
        this.#kick(0);
        if (!before && bp.verified) this.#send('breakpoint', { reason: 'changed', breakpoint: this.#toDap(bp) });
      }
    }
    await this.#updateInstrumentation();
  }

  async clearAll(): Promise<void> {
    for (const path of [...this.#bySource.keys()]) await this.#clear(path);
    this.#bySource.clear();
    await this.#updateInstrumentation();
  }

  async #clear(clientPath: string): Promise<void> {
    const list = this.#bySource.get(clientPath) ?? [];
    this.#bySource.delete(clientPath);
    for (const bp of list) {
      for (const id of bp.v8Ids) await this.#removeV8(id);
    }
    for (const bp of list) this.edits.drop(bp.id);
  }

  async #removeV8(id: string): Promise<void> {
    this.#byV8.delete(id);
    this.#where.delete(id);
    if (this.#runtime.debuggerOn) await this.#runtime.cdp.post('Debugger.removeBreakpoint', { breakpointId: id }).catch(() => undefined);
  }

  #record(bp: Bp, id: string, locations: { scriptId: string; lineNumber: number }[]): void {
    bp.v8Ids.push(id);
    this.#byV8.set(id, bp);
    this.#where.set(id, locations.map((l) => ({ scriptId: l.scriptId, line: l.lineNumber })));
  }

  /** A conditional breakpoint: to be compiled into the scripts V8 bound it in (at the next flush). */
  async #compile(bp: Bp): Promise<void> {
    if (!bp.condition || !this.compiles) return;
    for (const id of [...bp.v8Ids]) {
      for (const where of this.#where.get(id) ?? []) await this.edits.want(bp.id, where.scriptId, where.line, bp.compiled);
    }
  }

  /** Edits the scripts as the breakpoints want; then drops the V8 breakpoints of compiled ones and sets the rest again. */
  async #flush(): Promise<void> {
    const changed = await this.edits.flush();
    if (changed.length > 0) {
      for (const list of this.#bySource.values()) for (const bp of list) await this.#dropCompiled(bp);
      for (const scriptId of changed) await this.#replaceIn(scriptId);
    }
    if (this.edits.pending && this.#retries < RETRY_TIMER_MAX) {
      // V8 refused for now: try again later (after a resume, too: see nudge), a bounded number of times by timer.
      this.#retries++;
      this.#kick(this.#retryDelay);
      this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
    } else if (!this.edits.pending) {
      this.#retryDelay = RETRY_FIRST_MS;
      this.#retries = 0;
      this.onIdle?.();
    }
  }

  async #dropCompiled(bp: Bp): Promise<void> {
    for (const id of [...bp.v8Ids]) {
      const where = this.#where.get(id) ?? [];
      if (where.length === 0 || !where.every((w) => this.edits.isApplied(bp.id, w.scriptId))) continue;
      bp.v8Ids.splice(bp.v8Ids.indexOf(id), 1);
      await this.#removeV8(id);
    }
  }

  /** Called after a script edit, which drops V8's function breakpoints too (the session binds them again). */
  onEdited: (() => Promise<void>) | null = null;

  /** V8 runs new code for the script and dropped its breakpoints there: set them again (compiled ones excepted). */
  async #replaceIn(scriptId: string): Promise<void> {
    await this.onEdited?.().catch(() => undefined);
    for (const list of this.#bySource.values()) {
      for (const bp of list) {
        const ids = bp.v8Ids.filter((id) => this.#where.get(id)?.some((w) => w.scriptId === scriptId));
        if (ids.length === 0) continue;
        // A URL breakpoint may be bound in other scripts too (the same URL: a copy V8 keeps of a script before an
        // edit until it is collected, or the file loaded twice): set again unless compiled into every one of them.
        const bound = new Set(ids.flatMap((id) => (this.#where.get(id) ?? []).map((w) => w.scriptId)));
        bp.v8Ids = bp.v8Ids.filter((id) => !ids.includes(id));
        for (const id of ids) await this.#removeV8(id);
        const rest = [...bound].filter((id) => !this.edits.isApplied(bp.id, id));
        if (rest.length === 0) continue;
        const script = this.#runtime.scripts.get(scriptId);
        if (!isMappedSource(bp.remotePath) && rest.length < bound.size) {
          // Compiled into some of them: V8's condition goes only where it is not. A URL breakpoint would bind in the
          // compiled script too, and one run of the line would count twice towards a hit condition.
          for (const id of rest) await this.#placeIn(bp, id);
        } else if (!isMappedSource(bp.remotePath)) await this.#placeUrl(bp);
        else if (script) {
          bp.mappedScripts.delete(scriptId);
          await this.#placeMapped(bp, script);
        }
      }
    }
  }

  /**
   * A pause, as far as compiled breakpoints go. At an inserted `debugger` of a live breakpoint (or a V8 breakpoint
   * bound in an insert) the stop is reported at once: its frame shows the line's own statement (inserted columns map
   * to it, script-edits.ts). Stepping on from there first skips the rest of the insert, so a `next` leaves the line.
   * Elsewhere in an insert (a step went in) the agent steps on: 'skip'. A removed breakpoint whose insert V8 still
   * runs just resumes. (The stop used to be reported only after stepping past the insert; under load V8 sometimes
   * ended that step without a pause, and the stop was lost.)
   */
  compiledPause(location: { scriptId: string; lineNumber: number; columnNumber?: number }, stepping: boolean, v8Hits: readonly string[] = []): 'skip' | number[] | null {
    const at = this.edits.locate(location);
    const from = this.#stoppedInInsert;
    this.#stoppedInInsert = null;
    if (!at) {
      // a step from a stop reported in an insert, at that line's own first statement: the same place for the user
      if (stepping && from && from.scriptId === location.scriptId && from.line === location.lineNumber && this.edits.pastInsert(location)) {
        void this.#runtime.cdp.post('Debugger.stepOver').catch(() => undefined);
        return 'skip';
      }
      return null;
    }
    const hits = [...new Set([...(at.kind === 'debugger' && at.bpId !== null ? [at.bpId] : []), ...this.dapIds(v8Hits)])];
    if (hits.length) {
      this.#stoppedInInsert = { scriptId: location.scriptId, line: location.lineNumber };
      return hits;
    }
    if (stepping && from && from.scriptId === location.scriptId && from.line === location.lineNumber) this.#stoppedInInsert = from;
    const resume = at.kind === 'debugger' && at.bpId === null && !stepping;
    void this.#runtime.cdp.post(resume ? 'Debugger.resume' : 'Debugger.stepOver').catch(() => undefined);
    return 'skip';
  }

  /** The last stop reported inside an insert (see compiledPause). */
  #stoppedInInsert: { scriptId: string; line: number } | null = null;

  /** Log point output without its tag; null for a breakpoint that is gone (its insert may run until a flush). */
  logText(text: string): string | null {
    const { tag, text: plain } = untagLog(text);
    if (tag && ![...this.#bySource.values()].some((list) => list.some((bp) => this.tag(bp.id) === tag))) return null;
    return plain;
  }

  /** After a resume: edits V8 refused while a frame ran may pass now. */
  nudge(): void {
    if (!this.edits.pending) return;
    this.#retryDelay = RETRY_FIRST_MS;
    this.#retries = 0;
    this.#kick(RETRY_FIRST_MS);
  }

  /** A flush in `delayMs` (or sooner if one is due sooner). */
  #kick(delayMs: number): void {
    if (!this.#runtime.debuggerOn || !this.edits.pending) return;
    const due = Date.now() + delayMs;
    if (this.#retryTimer && this.#retryDue <= due) return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryDue = due;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#enqueue(() => this.#flush()).catch((err: unknown) => log('agent', `script edits failed: ${String(err)}`));
    }, delayMs);
    this.#retryTimer.unref();
  }

  /** Detach: every script gets its own text back, trying for a bounded time while V8 refuses (a frame runs it). */
  async restoreScripts(): Promise<void> {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    await this.#queue;
    if (!this.edits.pending && !this.edits.any) return;
    await this.#runtime.enableDebugger(); // off while every breakpoint was compiled in
    await this.#runtime.cdp.post('Debugger.setSkipAllPauses', { skip: true }).catch(() => undefined);
    if (this.#runtime.paused) await this.#runtime.cdp.post('Debugger.resume').catch(() => undefined);
    for (let i = 0; i < RESTORE_TRIES; i++) {
      await this.edits.restoreAll();
      if (!this.edits.pending) return;
      await new Promise((resolve) => setTimeout(resolve, RESTORE_WAIT_MS));
    }
    log('agent', 'detach: some scripts keep inserted breakpoint statements (a frame kept running them); they do nothing without a debugger');
  }

  async #place(bp: Bp): Promise<void> {
    if (isMappedSource(bp.remotePath)) {
      for (const script of this.#runtime.scripts.values()) {
        if (script.sourceMapURL) await this.#placeMapped(bp, script);
      }
      if (bp.mappedScripts.size === 0) bp.message = `not loaded yet: no script with a source map for ${baseName(bp.remotePath)} has loaded; the breakpoint is placed when one does`;
      return;
    }
    await this.#placeUrl(bp);
  }

  async #placeUrl(bp: Bp): Promise<void> {
    const loaded = [...this.#runtime.scripts.values()].map((s) => scriptPath(s.url)).filter((p): p is string => p !== null);
    const choice = chooseTarget(bp.clientPath, this.mappings, loaded, existsSync);
    const regex = choice.target !== null ? exactUrlRegex(choice.target) : fileNameUrlRegex(baseName(bp.remotePath));
    const result = await this.#runtime.cdp.post<{ breakpointId: string; locations: { scriptId: string; lineNumber: number; columnNumber?: number }[] }>(
      'Debugger.setBreakpointByUrl',
      { urlRegex: regex, lineNumber: bp.line - 1, condition: bp.condition },
    );
    this.#record(bp, result.breakpointId, result.locations);
    const first = result.locations[0];
    if (first) {
      this.#verify(bp, first);
      if (choice.note) bp.message = choice.note; // several files matched: say which one the breakpoint is in
    } else bp.message = this.#unplaced(bp, choice.target);
  }

  /** Why a breakpoint by URL has no location: its script has no code at that line, or no such script has loaded. */
  #unplaced(bp: Bp, target: string | null): string {
    const script = target === null ? undefined : [...this.#runtime.scripts.values()].find((s) => scriptPath(s.url) === target);
    if (!script) return `not loaded yet: no loaded script is named ${baseName(bp.remotePath)}; the breakpoint is placed when it loads`;
    const past = bp.line > script.endLine + 1 ? ' (past its end)' : '';
    return `line ${bp.line} of ${baseName(target!)} has no code${past}`;
  }

  /** V8's condition at the breakpoint's line in one script only. */
  async #placeIn(bp: Bp, scriptId: string): Promise<void> {
    const result = await this.#runtime.cdp.post<{ breakpointId: string; actualLocation: { scriptId: string; lineNumber: number; columnNumber?: number } }>(
      'Debugger.setBreakpoint',
      { location: { scriptId, lineNumber: bp.line - 1 }, condition: bp.condition },
    ).catch(() => null);
    if (result) this.#record(bp, result.breakpointId, [result.actualLocation]);
  }

  async #placeMapped(bp: Bp, script: ScriptInfo): Promise<void> {
    const mapped = this.#maps.load(script.scriptId, script.url, script.sourceMapURL);
    if (!mapped) return;
    let index = SourceMaps.sourceIndex(mapped, bp.remotePath);
    if (index < 0) {
      const paths = mapped.sourcePaths.filter((p): p is string => p !== null);
      const best = rankByFileName(bp.remotePath, paths)[0];
      if (best === undefined || existsSync(bp.remotePath)) return;
      index = SourceMaps.sourceIndex(mapped, best);
    }
    const generated = SourceMaps.generatedFor(mapped, index, bp.line);
    if (!generated) {
      bp.message = `line ${bp.line} of ${baseName(bp.remotePath)} has no code (nor the ${20} lines after it)`;
      return;
    }
    bp.mappedScripts.add(script.scriptId);
    const result = await this.#runtime.cdp.post<{ breakpointId: string; actualLocation: { scriptId: string; lineNumber: number; columnNumber?: number } }>(
      'Debugger.setBreakpoint',
      { location: { scriptId: script.scriptId, lineNumber: generated.line, columnNumber: generated.column }, condition: bp.condition },
    ).catch(() => null);
    if (!result) return;
    this.#record(bp, result.breakpointId, [result.actualLocation]);
    this.#verify(bp, result.actualLocation);
  }

  #verify(bp: Bp, location: { scriptId: string; lineNumber: number; columnNumber?: number }): void {
    bp.verified = true;
    delete bp.message;
    const script = this.#runtime.scripts.get(location.scriptId);
    const mapped = script ? this.#maps.load(script.scriptId, script.url, script.sourceMapURL) : null;
    const original = mapped ? SourceMaps.originalFor(mapped, location.lineNumber, location.columnNumber ?? 0) : null;
    bp.actualLine = original ? original.line : location.lineNumber + 1;
  }

  async #updateInstrumentation(): Promise<void> {
    const pending = [...this.#bySource.values()].some((list) => list.some((bp) => isMappedSource(bp.remotePath)));
    if (pending && !this.#instrumentationId && this.#runtime.debuggerOn) {
      const r = await this.#runtime.cdp.post<{ breakpointId: string }>('Debugger.setInstrumentationBreakpoint', { instrumentation: 'beforeScriptWithSourceMapExecution' }).catch(() => null);
      this.#instrumentationId = r?.breakpointId ?? null;
    } else if (!pending && this.#instrumentationId) {
      const id = this.#instrumentationId;
      this.#instrumentationId = null;
      if (this.#runtime.debuggerOn) await this.#runtime.cdp.post('Debugger.removeInstrumentationBreakpoint', { breakpointId: id }).catch(() => undefined);
    }
  }

  /** Forget V8 state (the Debugger domain was switched off, which drops every breakpoint). */
  forgetV8(): void {
    this.#byV8.clear();
    this.#where.clear();
    this.#instrumentationId = null;
  }

  #toDap(bp: Bp): DapBreakpoint {
    const out: DapBreakpoint = { id: bp.id, verified: bp.verified, line: bp.actualLine ?? bp.line, source: { path: bp.clientPath, name: baseName(bp.clientPath) } };
    if (bp.message) out.message = bp.message;
    return out;
  }
}

/** Files reached through source maps: anything that is not plain JavaScript (TypeScript, JSX...). */
function isMappedSource(path: string): boolean {
  return !JS_EXT.test(path);
}

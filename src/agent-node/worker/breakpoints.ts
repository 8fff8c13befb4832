// Line breakpoints: DAP setBreakpoints ↔ V8 breakpoints. Plain JavaScript files get URL breakpoints that V8 binds
// to the file now or when it loads; files reached through source maps (TypeScript) are placed at the generated
// position of every loaded script whose map names them, and, until one loads, an instrumentation breakpoint
// stops each new source-mapped script briefly so its breakpoints are placed before its first line runs.

import { existsSync } from 'node:fs';
import { SourceMaps } from '../sourcemaps.js';
import { AGENT_GLOBAL } from '../shared.js';
import { buildCondition } from '../translate/conditions.js';
import { baseName, chooseTarget, exactUrlRegex, fileNameUrlRegex, rankByFileName, scriptPath, toRemote, type PathMapping } from '../translate/paths.js';
import type { ScriptInfo, V8Runtime } from './runtime.js';

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
  condition: string;
  v8Ids: string[];
  /** Scripts this breakpoint was placed in through their source maps. */
  mappedScripts: Set<string>;
  verified: boolean;
  actualLine?: number;
  message?: string;
}

const JS_EXT = /\.(?:js|mjs|cjs)$/i;

export class Breakpoints {
  readonly #runtime: V8Runtime;
  readonly #maps: SourceMaps;
  readonly #send: (event: string, body: unknown) => void;
  readonly #bySource = new Map<string, Bp[]>();
  readonly #byV8 = new Map<string, Bp>();
  #nextId = 1;
  #instrumentationId: string | null = null;
  mappings: PathMapping[] = [];

  constructor(runtime: V8Runtime, maps: SourceMaps, send: (event: string, body: unknown) => void) {
    this.#runtime = runtime;
    this.#maps = maps;
    this.#send = send;
    runtime.on('breakpointResolved', ({ breakpointId, location }) => {
      const bp = this.#byV8.get(breakpointId);
      if (!bp || bp.verified) return;
      this.#verify(bp, location);
      this.#send('breakpoint', { reason: 'changed', breakpoint: this.#toDap(bp) });
    });
  }

  get count(): number {
    let n = 0;
    for (const list of this.#bySource.values()) n += list.length;
    return n;
  }

  /** The DAP ids of the breakpoints behind V8's hitBreakpoints. */
  #busy: Promise<void> = Promise.resolve();

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
    return this.#busy;
  }

  set(clientPath: string, specs: BreakpointSpec[]): Promise<DapBreakpoint[]> {
    const done = this.#set(clientPath, specs);
    const busy = done.then(() => undefined, () => undefined);
    this.#busy = busy;
    void busy.then(() => {
      if (this.#busy === busy) this.#busy = Promise.resolve();
    });
    return done;
  }

  async #set(clientPath: string, specs: BreakpointSpec[]): Promise<DapBreakpoint[]> {
    await this.#clear(clientPath);
    if (specs.length === 0) {
      this.#bySource.delete(clientPath);
      await this.#updateInstrumentation();
      return [];
    }
    await this.#runtime.enableDebugger();
    const remotePath = toRemote(clientPath, this.mappings);
    const list: Bp[] = [];
    for (const spec of specs) {
      const bp: Bp = { id: this.#nextId++, clientPath, remotePath, line: spec.line, condition: '', v8Ids: [], mappedScripts: new Set(), verified: false };
      list.push(bp);
      try {
        bp.condition = buildCondition({ key: `bp${bp.id}`, condition: spec.condition, hitCondition: spec.hitCondition, logMessage: spec.logMessage }, AGENT_GLOBAL);
      } catch (err) {
        bp.message = (err as Error).message;
        continue;
      }
      await this.#place(bp);
    }
    this.#bySource.set(clientPath, list);
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
    for (const bp of this.#bySource.get(clientPath) ?? []) {
      for (const id of bp.v8Ids) {
        this.#byV8.delete(id);
        if (this.#runtime.debuggerOn) await this.#runtime.cdp.post('Debugger.removeBreakpoint', { breakpointId: id }).catch(() => undefined);
      }
    }
  }

  async #place(bp: Bp): Promise<void> {
    if (isMappedSource(bp.remotePath)) {
      for (const script of this.#runtime.scripts.values()) {
        if (script.sourceMapURL) await this.#placeMapped(bp, script);
      }
      if (bp.mappedScripts.size === 0) bp.message = `not loaded yet: no script with a source map for ${baseName(bp.remotePath)} has loaded; the breakpoint is placed when one does`;
      return;
    }
    const loaded = [...this.#runtime.scripts.values()].map((s) => scriptPath(s.url)).filter((p): p is string => p !== null);
    const choice = chooseTarget(bp.clientPath, this.mappings, loaded, existsSync);
    const regex = choice.target !== null ? exactUrlRegex(choice.target) : fileNameUrlRegex(baseName(bp.remotePath));
    const result = await this.#runtime.cdp.post<{ breakpointId: string; locations: { scriptId: string; lineNumber: number; columnNumber?: number }[] }>(
      'Debugger.setBreakpointByUrl',
      { urlRegex: regex, lineNumber: bp.line - 1, condition: bp.condition },
    );
    bp.v8Ids.push(result.breakpointId);
    this.#byV8.set(result.breakpointId, bp);
    const first = result.locations[0];
    if (first) {
      this.#verify(bp, first);
      if (choice.note) bp.message = choice.note; // several files matched: say which one the breakpoint is in
    } else bp.message = `not loaded yet: no loaded script is named ${baseName(bp.remotePath)}; the breakpoint is placed when it loads`;
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
    bp.v8Ids.push(result.breakpointId);
    this.#byV8.set(result.breakpointId, bp);
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

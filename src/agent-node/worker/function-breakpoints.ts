// Function breakpoints: DAP setFunctionBreakpoints ↔ V8 Debugger.setBreakpointOnFunctionCall. The name is
// resolved in the main thread, once, when the client sets it: a property path from the global scope (`main`,
// `app.handlers.onRequest`), an export of a loaded CommonJS module, or, while the program is stopped, a name in
// scope in one of its frames (how module-scope functions of ES modules are reached). The breakpoint binds to that
// function; one not defined yet is not found (the client sets it again once its module has loaded).

import { AGENT_GLOBAL } from '../shared.js';
import { buildCondition } from '../translate/conditions.js';
import type { V8Runtime } from './runtime.js';

export interface FunctionBreakpointSpec {
  name?: unknown;
  condition?: string;
  hitCondition?: string;
}

export interface DapFunctionBreakpoint {
  id: number;
  verified: boolean;
  message?: string;
}

/** The functions of bound breakpoints, kept so they can be bound again after a script edit (script-edits.ts). */
const FBP_KEEP = 'longreach-fbp-keep';
const NAME = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;

/**
 * An expression that finds the function `name` (a dotted path, already checked against NAME) in the scope it is
 * evaluated in (global, or a paused frame), or else among the exports of loaded CommonJS modules; undefined when
 * none. It is synchronous (the main thread may be stopped or blocked) and reads data properties only (no getter runs).
 */
export function lookupExpression(name: string): string {
  const path = name.split('.');
  const head = path[0]!;
  return `((root, path) => {
  const walk = (v, keys) => {
    for (const k of keys) {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return undefined;
      const d = Object.getOwnPropertyDescriptor(v, k);
      if (!d || !('value' in d)) return undefined;
      v = d.value;
    }
    return typeof v === 'function' ? v : undefined;
  };
  const found = walk(root, path.slice(1));
  if (found) return found;
  const cache = globalThis.process?.getBuiltinModule?.('node:module')?._cache ?? {};
  for (const key of Object.keys(cache)) {
    const exports = cache[key]?.exports;
    const hit = walk(exports, path) ?? (path.length === 1 && typeof exports === 'function' && exports.name === path[0] ? exports : undefined);
    if (hit) return hit;
  }
  return undefined;
})(typeof ${head} === 'undefined' ? undefined : ${head}, ${JSON.stringify(path)})`;
}

export class FunctionBreakpoints {
  readonly #runtime: V8Runtime;
  readonly #byV8 = new Map<string, number>();
  /** DAP id → the function's objectId (in FBP_KEEP) and the V8 condition. */
  readonly #bound = new Map<number, { objectId: string; condition: string }>();
  #nextId = 1_000_000;

  constructor(runtime: V8Runtime) {
    this.#runtime = runtime;
  }

  get count(): number {
    return this.#byV8.size;
  }

  dapIds(v8Ids: readonly string[]): number[] {
    return v8Ids.map((id) => this.#byV8.get(id)).filter((id): id is number => id !== undefined);
  }

  /** Replaces every function breakpoint (DAP sends the whole list each time). */
  async set(specs: FunctionBreakpointSpec[]): Promise<DapFunctionBreakpoint[]> {
    await this.clear();
    if (specs.length === 0) return [];
    await this.#runtime.enableDebugger();
    const out: DapFunctionBreakpoint[] = [];
    for (const spec of specs) out.push(await this.#setOne(spec, this.#nextId++));
    return out;
  }

  async clear(): Promise<void> {
    const ids = [...this.#byV8.keys()];
    this.#byV8.clear();
    if (this.#bound.size) await this.#runtime.cdp.post('Runtime.releaseObjectGroup', { objectGroup: FBP_KEEP }).catch(() => undefined);
    this.#bound.clear();
    if (!this.#runtime.debuggerOn) return;
    for (const breakpointId of ids) await this.#runtime.cdp.post('Debugger.removeBreakpoint', { breakpointId }).catch(() => undefined);
  }

  /** The Debugger domain was switched off: V8 dropped every breakpoint. */
  forgetV8(): void {
    this.#byV8.clear();
    this.#bound.clear();
    this.#runtime.cdp.post('Runtime.releaseObjectGroup', { objectGroup: FBP_KEEP }).catch(() => undefined);
  }

  /** A script was edited (compiled breakpoints) and V8 dropped its breakpoints: bind every function again. */
  async rebind(): Promise<void> {
    for (const [v8Id, id] of [...this.#byV8]) {
      const bound = this.#bound.get(id);
      if (!bound) continue;
      this.#byV8.delete(v8Id);
      await this.#runtime.cdp.post('Debugger.removeBreakpoint', { breakpointId: v8Id }).catch(() => undefined);
      const r = await this.#runtime.cdp.post<{ breakpointId: string }>('Debugger.setBreakpointOnFunctionCall', bound).catch(() => null);
      if (r) this.#byV8.set(r.breakpointId, id);
    }
  }

  /** The function's objectId: looked up in the global scope, then in each frame of the stopped program. */
  async #find(name: string): Promise<string | undefined> {
    type Result = { result: { type: string; objectId?: string } };
    const expression = lookupExpression(name);
    const group = { silent: true, objectGroup: FBP_KEEP };
    const tries: (() => Promise<Result>)[] = [() => this.#runtime.cdp.post<Result>('Runtime.evaluate', { expression, ...group })];
    for (const frame of this.#runtime.paused?.callFrames ?? []) {
      tries.push(() => this.#runtime.cdp.post<Result>('Debugger.evaluateOnCallFrame', { callFrameId: frame.callFrameId, expression, ...group }));
    }
    for (const attempt of tries) {
      const r = await attempt().catch(() => null);
      if (r?.result.type === 'function' && r.result.objectId) return r.result.objectId;
    }
    return undefined;
  }

  async #setOne(spec: FunctionBreakpointSpec, id: number): Promise<DapFunctionBreakpoint> {
    const name = typeof spec.name === 'string' ? spec.name.trim() : '';
    if (!NAME.test(name)) {
      return { id, verified: false, message: `function breakpoint name ${JSON.stringify(spec.name ?? '')} is not a function name; use a name such as main or app.handlers.onRequest` };
    }
    let condition: string;
    try {
      condition = buildCondition({ key: `fbp${id}`, condition: spec.condition, hitCondition: spec.hitCondition }, AGENT_GLOBAL);
    } catch (err) {
      return { id, verified: false, message: (err as Error).message };
    }
    const objectId = await this.#find(name);
    if (!objectId) {
      return {
        id,
        verified: false,
        message:
          `no function named ${name} is reachable from the global scope, the exports of loaded CommonJS modules, or the frames of the stopped program; ` +
          'set a line breakpoint in it, or set this again while stopped in the module that defines or imports it',
      };
    }
    try {
      const r = await this.#runtime.cdp.post<{ breakpointId: string }>('Debugger.setBreakpointOnFunctionCall', { objectId, condition });
      this.#byV8.set(r.breakpointId, id);
      this.#bound.set(id, { objectId, condition });
      return { id, verified: true };
    } catch (err) {
      return { id, verified: false, message: `cannot break on ${name}: ${(err as Error).message}` };
    }
  }
}

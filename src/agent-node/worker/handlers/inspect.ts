// Inspection requests: stackTrace, scopes, variables, evaluate, setVariable, exceptionInfo, completions.

import { LongreachError } from '../../../protocol/errors.js';
import { SourceMaps } from '../../sourcemaps.js';
import { exceptionInfo, frameName, groupScopes, scopeShape } from '../../translate/frames.js';
import { baseName, scriptPath, toClient } from '../../translate/paths.js';
import { BOUND_VALUE, BOUNDED_VIEW, callArgument, childEvaluateName, formatValue, indexedCount, isExpandable, typeName, type RemoteObject } from '../../translate/values.js';
import type { CallFrame } from '../runtime.js';
import { OBJECT_GROUP, badRequest, requirePaused, type SessionState } from '../state.js';

/** Children shown for one unpaged request: enough for people, bounded for huge objects. */
const MAX_CHILDREN = 1000;

function frameAt(state: SessionState, frameId: unknown, what: string): { frame: CallFrame; index: number } {
  const paused = requirePaused(state, what);
  const index = typeof frameId === 'number' ? frameId - 1 : -1;
  const frame = paused.callFrames[index];
  if (!frame) throw badRequest(`${what}: frame ${String(frameId)} does not exist (ask stackTrace for current frame ids)`);
  return { frame, index };
}

export function frameSource(state: SessionState, frame: { location: { scriptId: string; lineNumber: number; columnNumber?: number }; url: string }): { source: Record<string, unknown>; line: number; column: number } {
  const script = state.runtime.scripts.get(frame.location.scriptId);
  // A script with compiled breakpoints: columns after an inserted statement, as in the original text.
  const column0 = state.breakpoints.edits.originalColumn(frame.location.scriptId, frame.location.lineNumber, frame.location.columnNumber ?? 0);
  const mapped = script ? state.maps.load(script.scriptId, script.url, script.sourceMapURL) : null;
  const original = mapped ? SourceMaps.originalFor(mapped, frame.location.lineNumber, column0) : null;
  if (original?.path) {
    const path = toClient(original.path, state.mappings);
    return { source: { name: baseName(path), path }, line: original.line, column: original.column };
  }
  const url = script?.url ?? frame.url;
  const path = scriptPath(url);
  const line = frame.location.lineNumber + 1;
  if (path) {
    const client = toClient(path, state.mappings);
    return { source: { name: baseName(client), path: client }, line, column: column0 + 1 };
  }
  const ref = state.sources.add(frame.location.scriptId);
  return { source: { name: url || `<script ${frame.location.scriptId}>`, sourceReference: ref, presentationHint: 'deemphasize' }, line, column: column0 + 1 };
}

/** The frames a person sees (the agent's own frames, e.g. breakIntoDebugger's, are left out) with their ids. */
export function visibleFrames(state: SessionState): { frame: CallFrame; id: number }[] {
  const paused = requirePaused(state, 'stackTrace');
  const out: { frame: CallFrame; id: number }[] = [];
  paused.callFrames.forEach((frame, index) => {
    if (!state.runtime.isHidden(frame.location.scriptId)) out.push({ frame, id: index + 1 });
  });
  return out;
}

export function stackTrace(state: SessionState, args: Record<string, unknown>): unknown {
  const frames = visibleFrames(state);
  const start = typeof args.startFrame === 'number' && args.startFrame > 0 ? args.startFrame : 0;
  const levels = typeof args.levels === 'number' && args.levels > 0 ? args.levels : frames.length;
  const stackFrames = frames.slice(start, start + levels).map(({ frame, id }) => {
    const where = frameSource(state, frame);
    return { id, name: frameName(frame.functionName, frame.url), source: where.source, line: where.line, column: where.column };
  });
  return { stackFrames, totalFrames: frames.length };
}

export function scopes(state: SessionState, args: Record<string, unknown>): unknown {
  const { frame, index } = frameAt(state, args.frameId, 'scopes');
  const out = [];
  for (const group of groupScopes(frame.scopeChain.map((s) => s.type))) {
    const parts = group.indexes
      .map((i) => ({ objectId: frame.scopeChain[i]!.object.objectId ?? '', scopeNumber: i }))
      .filter((p) => p.objectId !== '');
    if (parts.length === 0) continue;
    const shape = scopeShape(group.type, frame.scopeChain[group.indexes[0]!]?.name);
    out.push({ ...shape, variablesReference: state.variables.add({ kind: 'scope', frameIndex: index, parts }) });
  }
  return { scopes: out };
}

interface PropertyDescriptor {
  name: string;
  value?: RemoteObject;
  get?: RemoteObject;
  isOwn?: boolean;
}

export function toVariable(state: SessionState, name: string, obj: RemoteObject, evaluateName?: string): Record<string, unknown> {
  const v: Record<string, unknown> = { name, value: formatValue(obj), type: typeName(obj), variablesReference: 0 };
  if (evaluateName) v.evaluateName = evaluateName;
  if (isExpandable(obj)) v.variablesReference = state.variables.add({ kind: 'object', objectId: obj.objectId!, evaluateName, ...(obj.subtype === 'proxy' ? { proxy: true } : {}) });
  const n = indexedCount(obj);
  if (n !== null) v.indexedVariables = n;
  return v;
}

export async function variables(state: SessionState, args: Record<string, unknown>): Promise<unknown> {
  const handle = state.variables.get(args.variablesReference);
  if (!handle) throw badRequest(`variablesReference ${String(args.variablesReference)} is not valid (references last until the program resumes)`);
  const cdp = state.runtime.cdp;
  if (handle.kind === 'getter') {
    const r = await cdp.post<{ result: RemoteObject; exceptionDetails?: unknown }>('Runtime.callFunctionOn', {
      objectId: handle.objectId, functionDeclaration: `function (n) { return (${BOUND_VALUE})(this[n]); }`, arguments: [{ value: handle.name }], objectGroup: OBJECT_GROUP,
    });
    return { variables: [toVariable(state, handle.name, r.result, handle.evaluateName)] };
  }
  const start = typeof args.start === 'number' && args.start > 0 ? args.start : 0;
  const count = typeof args.count === 'number' && args.count > 0 ? args.count : 0;
  if (handle.kind === 'scope') {
    const seen = new Set<string>();
    const vars: Record<string, unknown>[] = [];
    for (const part of handle.parts) {
      for (const p of await properties(state, part.objectId)) {
        if (seen.has(p.name)) continue;
        seen.add(p.name);
        vars.push(describe(state, { objectId: part.objectId, evaluateName: '' }, p, p.name));
      }
    }
    return { variables: vars.slice(start, count ? start + count : start + MAX_CHILDREN) };
  }
  const filter = args.filter;
  // What kind of container, by value: arrays and typed arrays (Buffers too) page by index; Maps and Sets page by
  // iteration order. Nothing here asks V8 for every element (getProperties of a 10M-element typed array would).
  const meta = await cdp.post<{ result: RemoteObject }>('Runtime.callFunctionOn', {
    objectId: handle.objectId, functionDeclaration: CONTAINER_KIND, returnByValue: true,
  }).catch(() => ({ result: { type: 'object', value: { kind: 'object', n: -1 } } }));
  const shape = (meta.result.value ?? { kind: 'object', n: -1 }) as { kind: string; n: number };
  const length = shape.kind === 'array' ? shape.n : -1;
  if ((shape.kind === 'map' || shape.kind === 'set') && filter !== 'named') {
    return { variables: await collectionPage(state, handle, shape.kind, start, count ? start + count : start + MAX_CHILDREN) };
  }
  if (length >= 0 && filter !== 'named') {
    const end = Math.min(length, count ? start + count : start + MAX_CHILDREN);
    const slice = await cdp.post<{ result: RemoteObject }>('Runtime.callFunctionOn', {
      objectId: handle.objectId,
      functionDeclaration: 'function (s, e) { const o = Object.create(null); for (let i = s; i < e; i++) o[i] = this[i]; return o; }',
      arguments: [{ value: start }, { value: end }], objectGroup: OBJECT_GROUP,
    });
    const props = await properties(state, slice.result.objectId!);
    const vars = props.map((p) => toVariable(state, p.name, p.value!, childEvaluateName(handle.evaluateName, p.name)));
    if (filter === 'indexed' || count || start > 0) return { variables: vars };
    const named = await properties(state, handle.objectId, true);
    return { variables: [...vars, ...named.map((p) => describe(state, handle, p))] };
  }
  if ((shape.kind === 'map' || shape.kind === 'set') && filter === 'named') return { variables: [] };
  const props = await properties(state, handle.objectId, length >= 0, handle.proxy === true);
  const page = props.slice(start, count ? start + count : start + MAX_CHILDREN);
  return { variables: page.map((p) => describe(state, handle, p)) };
}

const CONTAINER_KIND = `function () {
  if (Array.isArray(this) || (ArrayBuffer.isView(this) && typeof this.length === 'number')) return { kind: 'array', n: this.length };
  if (this instanceof Map) return { kind: 'map', n: this.size };
  if (this instanceof Set) return { kind: 'set', n: this.size };
  return { kind: 'object', n: -1 };
}`;

/** Entries start..end-1 of a Map or Set, in iteration order: a Map entry is named by its key's text, a Set's by its
 * position. Iterates up to `end`; never copies the collection. */
async function collectionPage(state: SessionState, handle: { objectId: string; evaluateName?: string | undefined }, kind: string, start: number, end: number): Promise<Record<string, unknown>[]> {
  const cdp = state.runtime.cdp;
  const page = await cdp.post<{ result: RemoteObject }>('Runtime.callFunctionOn', {
    objectId: handle.objectId,
    functionDeclaration: `function (s, e) {
      const values = Object.create(null); const names = []; let i = 0;
      const text = (k) => typeof k === 'string' ? JSON.stringify(k.length > 100 ? k.slice(0, 100) + '…' : k) : (typeof k === 'object' && k !== null) || typeof k === 'function' ? '{' + ((k.constructor && k.constructor.name) || 'Object') + ' #' + i + '}' : String(k);
      for (const entry of (this instanceof Map ? this.entries() : this.values())) {
        if (i >= e) break;
        if (i >= s) { const n = this instanceof Map ? text(entry[0]) : String(i); names.push(n); values[names.length - 1] = this instanceof Map ? entry[1] : entry; }
        i++;
      }
      return { names, values };
    }`,
    arguments: [{ value: start }, { value: end }], objectGroup: OBJECT_GROUP,
  });
  const parts = await properties(state, page.result.objectId!);
  const names = parts.find((p) => p.name === 'names');
  const values = parts.find((p) => p.name === 'values');
  if (!names?.value?.objectId || !values?.value?.objectId) return [];
  const texts = await cdp.post<{ result: RemoteObject }>('Runtime.callFunctionOn', { objectId: names.value.objectId, functionDeclaration: 'function () { return this; }', returnByValue: true });
  const labels = (texts.result.value as string[] | undefined) ?? [];
  const items = await properties(state, values.value.objectId);
  return items.map((p) => {
    const label = labels[Number(p.name)] ?? p.name;
    const evaluateName = kind === 'map' && handle.evaluateName && /^(-?\d+(\.\d+)?|"[^"]*"|true|false|null|undefined)$/.test(label) ? `${handle.evaluateName}.get(${label})` : undefined;
    return toVariable(state, label, p.value!, evaluateName);
  });
}

function describe(state: SessionState, parent: { objectId: string; evaluateName?: string | undefined }, p: PropertyDescriptor, ownName?: string): Record<string, unknown> {
  const evaluateName = ownName ?? childEvaluateName(parent.evaluateName, p.name);
  if (p.value) return toVariable(state, p.name, p.value, evaluateName);
  // An accessor: not invoked until the client expands it.
  return { name: p.name, value: '(...)', type: 'getter', presentationHint: { lazy: true }, variablesReference: state.variables.add({ kind: 'getter', objectId: parent.objectId, name: p.name, evaluateName }) };
}

/**
 * Own properties (and internal ones worth showing); `nonIndexed` leaves out the elements of an array-like. When a
 * property holds a long string, the properties of a copy holding its summary are listed instead (BOUNDED_VIEW: V8
 * would send the whole string); the copy has no internal properties. Proxies are listed as they are (the copy
 * would run their traps), and so are the named properties of array-likes (`nonIndexed`: listing the names of
 * every element to find them would cost what paging saves).
 */
async function properties(state: SessionState, objectId: string, nonIndexed = false, proxy = false): Promise<PropertyDescriptor[]> {
  const cdp = state.runtime.cdp;
  let listed = objectId;
  if (!nonIndexed && !proxy) {
    const view = await cdp.post<{ result: RemoteObject; exceptionDetails?: unknown }>('Runtime.callFunctionOn', { objectId, functionDeclaration: BOUNDED_VIEW, objectGroup: OBJECT_GROUP }).catch(() => null);
    // (a module namespace throws for a binding not yet initialised: it is then listed as it is)
    if (view && !view.exceptionDetails && view.result.objectId) listed = view.result.objectId;
  }
  const r = await cdp.post<{ result: PropertyDescriptor[]; internalProperties?: PropertyDescriptor[] }>('Runtime.getProperties', {
    objectId: listed, ownProperties: true, generatePreview: false, ...(nonIndexed ? { nonIndexedPropertiesOnly: true } : {}),
  });
  const own = r.result.filter((p) => p.isOwn !== false && p.name !== '__proto__' && (p.value !== undefined || p.get?.type === 'function'));
  // [[Entries]] of a Map or Set would list every entry: they are paged as the collection's own children instead
  const internal = (r.internalProperties ?? []).filter((p) => p.value && p.name !== '[[Prototype]]' && p.name !== '[[Scopes]]' && p.name !== '[[Entries]]');
  return [...own, ...internal];
}

/**
 * The text to evaluate so that a long string comes back in the mark form (BOUND_VALUE) instead of whole: one
 * expression is passed through BOUND_VALUE; statements (`let q = s; q`) are run by a direct eval, whose completion
 * value is theirs, in the same scope, but only in a stopped frame (`statements`): at the top level a `let` must
 * outlive the evaluation; anything else (a syntax error, `await`) as it is, so that V8 words its error.
 */
export function boundedExpression(expression: string, statements: boolean): string {
  const trimmed = expression.replace(/[\s;]+$/, '');
  // compiled only, never run: which shape does the text have?
  const compiles = (body: string): boolean => {
    try {
      new Function(body);
      return true;
    } catch {
      return false;
    }
  };
  const wrapped = `(${BOUND_VALUE})((${trimmed}\n))`;
  if (compiles(`return ${wrapped};`)) return wrapped;
  if (statements && compiles(expression)) return `(${BOUND_VALUE})(eval(${JSON.stringify(expression)}))`;
  return expression;
}

async function evaluateIn(state: SessionState, source: string, frameId: unknown, context: unknown, bounded = true): Promise<RemoteObject> {
  const cdp = state.runtime.cdp;
  const inFrame = frameId !== undefined && state.runtime.paused !== null;
  const expression = bounded ? boundedExpression(source, inFrame) : source;
  let r: { result: RemoteObject; exceptionDetails?: { exception?: RemoteObject; text?: string } };
  if (inFrame) {
    const { frame } = frameAt(state, frameId, 'evaluate');
    r = await cdp.post('Debugger.evaluateOnCallFrame', { callFrameId: frame.callFrameId, expression, objectGroup: OBJECT_GROUP, throwOnSideEffect: context === 'hover', timeout: 5000 });
  } else {
    r = await cdp.post('Runtime.evaluate', { expression, objectGroup: OBJECT_GROUP, includeCommandLineAPI: context === 'repl', throwOnSideEffect: context === 'hover', timeout: 5000 });
  }
  if (r.exceptionDetails) {
    const text = r.exceptionDetails.exception?.description?.split('\n', 1)[0] ?? r.exceptionDetails.text ?? 'evaluation failed';
    throw new LongreachError('LR_EVAL_FAILED', text);
  }
  return r.result;
}

export async function evaluate(state: SessionState, args: Record<string, unknown>): Promise<unknown> {
  if (typeof args.expression !== 'string' || args.expression.trim() === '') throw badRequest('evaluate needs an expression');
  const frameId = args.frameId ?? (state.runtime.paused ? visibleFrames(state)[0]?.id : undefined);
  const obj = await evaluateIn(state, args.expression, frameId, args.context);
  const v = toVariable(state, '', obj, args.expression);
  const body: Record<string, unknown> = { result: v.value, type: v.type, variablesReference: v.variablesReference };
  if (v.indexedVariables !== undefined) body.indexedVariables = v.indexedVariables;
  return body;
}

export async function setVariable(state: SessionState, args: Record<string, unknown>): Promise<unknown> {
  const handle = state.variables.get(args.variablesReference);
  if (!handle || handle.kind === 'getter') throw badRequest(`variablesReference ${String(args.variablesReference)} is not valid (references last until the program resumes)`);
  if (typeof args.name !== 'string' || typeof args.value !== 'string') throw badRequest('setVariable needs name and value (an expression)');
  const paused = requirePaused(state, 'setVariable');
  const frameIndex = handle.kind === 'scope' ? handle.frameIndex : 0;
  // the value itself goes back to V8, so a long string is fetched whole here
  const value = await evaluateIn(state, args.value, frameIndex + 1, 'repl', false);
  const cdp = state.runtime.cdp;
  if (handle.kind === 'scope') {
    const frame = paused.callFrames[handle.frameIndex]!;
    let scopeNumber: number | undefined;
    for (const part of handle.parts) {
      if ((await properties(state, part.objectId)).some((p) => p.name === args.name)) {
        scopeNumber = part.scopeNumber;
        break;
      }
    }
    if (scopeNumber === undefined) throw badRequest(`there is no variable ${args.name} in this scope`);
    try {
      await cdp.post('Debugger.setVariableValue', { scopeNumber, variableName: args.name, newValue: callArgument(value), callFrameId: frame.callFrameId });
    } catch (err) {
      throw new LongreachError('LR_EVAL_FAILED', `cannot set ${args.name}: ${(err as Error).message}`);
    }
  } else {
    const r = await cdp.post<{ exceptionDetails?: unknown }>('Runtime.callFunctionOn', {
      objectId: handle.objectId, functionDeclaration: 'function (n, v) { this[n] = v; }', arguments: [{ value: args.name }, callArgument(value)],
    });
    if (r.exceptionDetails) throw new LongreachError('LR_EVAL_FAILED', `cannot set ${args.name}`);
  }
  const v = toVariable(state, args.name, value);
  return { value: v.value, type: v.type, variablesReference: v.variablesReference };
}

export function exceptionInfoRequest(state: SessionState): unknown {
  const paused = requirePaused(state, 'exceptionInfo');
  if (paused.reason !== 'exception' && paused.reason !== 'promiseRejection') throw badRequest('the program did not stop because of an exception');
  return exceptionInfo(paused.data as RemoteObject | undefined, (paused.data as { uncaught?: boolean } | undefined)?.uncaught === true || paused.reason === 'promiseRejection');
}

export async function completions(state: SessionState, args: Record<string, unknown>): Promise<unknown> {
  const text = typeof args.text === 'string' ? args.text : '';
  const column = typeof args.column === 'number' ? args.column - 1 : text.length;
  const before = text.slice(0, column);
  const m = /([A-Za-z_$][\w$]*\.)*([A-Za-z_$][\w$]*)?$/.exec(before);
  const word = m?.[2] ?? '';
  const owner = m?.[0]?.slice(0, m[0].length - word.length).replace(/\.$/, '') ?? '';
  const names = new Set<string>();
  try {
    const expr = owner ? `(() => { const o = (${owner}); const out = []; for (let p = o; p != null && out.length < 2000; p = Object.getPrototypeOf(p)) out.push(...Object.getOwnPropertyNames(p)); return out; })()` : 'Object.getOwnPropertyNames(globalThis)';
    const obj = await evaluateIn(state, expr, state.runtime.paused ? (args.frameId ?? 1) : undefined, 'hover').catch(() => null);
    if (obj?.objectId) {
      const r = await state.runtime.cdp.post<{ result: RemoteObject }>('Runtime.callFunctionOn', { objectId: obj.objectId, functionDeclaration: 'function () { return this; }', returnByValue: true });
      for (const n of (r.result.value as string[]) ?? []) names.add(n);
    }
    if (!owner && state.runtime.paused) {
      const { frame } = frameAt(state, args.frameId ?? 1, 'completions');
      for (const scope of frame.scopeChain) {
        if (scope.type === 'global' || !scope.object.objectId) continue;
        for (const p of await properties(state, scope.object.objectId)) names.add(p.name);
      }
    }
  } catch {
    // completions are best effort
  }
  const targets = [...names].filter((n) => n.startsWith(word) && !/^\d+$/.test(n)).sort().slice(0, 200);
  return { targets: targets.map((label) => ({ label, type: 'property', start: column - word.length, length: word.length })) };
}

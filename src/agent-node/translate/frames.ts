// Pure CDP → DAP translations for pauses, frames and scopes.

export type DapStopReason = 'breakpoint' | 'step' | 'exception' | 'pause' | 'entry' | 'function breakpoint';

/** Why the program stopped, in DAP words, from V8's pause reason and what the agent last asked for. */
export function stopReason(v8Reason: string, hitBreakpoints: readonly string[], lastAction: 'step' | 'pause' | 'break' | null): DapStopReason {
  if (v8Reason === 'exception' || v8Reason === 'promiseRejection' || v8Reason === 'assert') return 'exception';
  if (hitBreakpoints.length > 0) return 'breakpoint';
  if (lastAction === 'step') return 'step';
  return 'pause';
}

/** A frame's display name: the function name, or a readable stand-in for anonymous and top-level code. */
export function frameName(functionName: string, url: string): string {
  if (functionName) return functionName;
  return url ? '(module code)' : '(anonymous)';
}

const SCOPE_NAMES: Record<string, string> = {
  local: 'Locals',
  closure: 'Closure',
  block: 'Block',
  catch: 'Catch',
  with: 'With',
  script: 'Script',
  module: 'Module',
  global: 'Globals',
  eval: 'Eval',
  wasmExpressionStack: 'Wasm Stack',
};

export interface DapScopeShape {
  name: string;
  presentationHint?: 'locals';
  expensive: boolean;
}

/** DAP scope name and hints for a V8 scope type (`global` is expensive: it holds every global). */
export function scopeShape(type: string, name?: string): DapScopeShape {
  const base = SCOPE_NAMES[type] ?? type;
  const shape: DapScopeShape = { name: type === 'closure' && name ? `Closure (${name})` : base, expensive: type === 'global' };
  if (type === 'local') shape.presentationHint = 'locals';
  return shape;
}

const LOCAL_PARTS = new Set(['block', 'catch', 'with', 'eval', 'local']);

/**
 * Groups V8's scope chain into DAP scopes: the innermost block/catch scopes and the function's local scope are
 * one "Locals" scope (as a person thinks of a function's variables; for module code the module scope is the
 * locals); every other scope stays on its own. Returns groups of scope indexes with the type that names them.
 */
export function groupScopes(types: readonly string[]): { type: string; indexes: number[] }[] {
  const groups: { type: string; indexes: number[] }[] = [];
  let i = 0;
  const first: number[] = [];
  while (i < types.length && LOCAL_PARTS.has(types[i]!)) {
    first.push(i);
    i++;
    if (types[i - 1] === 'local') break;
  }
  if (first.length > 0 && types[first[first.length - 1]!] !== 'local' && types[i] === 'module') first.push(i++);
  if (first.length > 0) groups.push({ type: 'local', indexes: first });
  for (; i < types.length; i++) {
    if (types[i] !== 'wasmExpressionStack') groups.push({ type: types[i]!, indexes: [i] });
  }
  return groups;
}

export interface ExceptionShape {
  exceptionId: string;
  description: string;
  breakMode: 'always' | 'unhandled';
  details: { message: string; typeName: string; stackTrace?: string };
}

/** exceptionInfo from the exception object V8 attached to the pause. */
export function exceptionInfo(exception: { className?: string; description?: string; value?: unknown; type?: string } | undefined, uncaught: boolean): ExceptionShape {
  const description = exception?.description ?? (exception && 'value' in exception ? String(exception.value) : 'exception');
  const typeName = exception?.className ?? exception?.type ?? 'Error';
  const firstLine = description.split('\n', 1)[0] ?? description;
  const message = firstLine.startsWith(`${typeName}: `) ? firstLine.slice(typeName.length + 2) : firstLine;
  const details: ExceptionShape['details'] = { message, typeName };
  if (description.includes('\n    at ')) details.stackTrace = description;
  return { exceptionId: typeName, description: firstLine, breakMode: uncaught ? 'unhandled' : 'always', details };
}

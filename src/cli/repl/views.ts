// Turns the debugger model's objects into the views commands report, and keeps the `$N` value handles of a stop.

import { relative, isAbsolute } from 'node:path';
import type { BreakpointInfo, Debugger, Frame, Stop, Variable } from '../../client/debugger.js';
import type { BreakpointView, FrameView, StopView, ValueView } from './results.js';

/** Shows a path relative to the working directory when it is inside it. */
export function showPath(path: string | null, cwd = process.cwd()): string | null {
  if (path === null) return null;
  if (!isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function breakpointView(b: BreakpointInfo): BreakpointView {
  return {
    number: b.number,
    kind: b.kind,
    file: showPath(b.file ?? null),
    line: b.line ?? null,
    function: b.name ?? null,
    condition: b.condition ?? null,
    hitCondition: b.hitCondition ?? null,
    logMessage: b.logMessage ?? null,
    temporary: b.temporary,
    verified: b.verified,
    message: b.message ?? null,
    hits: b.hits,
  };
}

/** Value handles (`$1`, `$2`, ...) for values with children; they are only valid until the program runs again. */
export class Handles {
  #refs: number[] = [];
  #epoch = -1;

  reset(epoch: number): void {
    if (epoch !== this.#epoch) {
      this.#refs = [];
      this.#epoch = epoch;
    }
  }

  add(ref: number): string | null {
    if (ref <= 0) return null;
    const existing = this.#refs.indexOf(ref);
    if (existing >= 0) return `$${existing + 1}`;
    this.#refs.push(ref);
    return `$${this.#refs.length}`;
  }

  get(handle: string): number | undefined {
    const n = Number(handle.slice(1));
    return Number.isInteger(n) && n >= 1 ? this.#refs[n - 1] : undefined;
  }
}

export function valueView(v: Variable, handles: Handles): ValueView {
  const length = v.indexed ?? null;
  return { name: v.name, value: v.value, type: v.type ?? null, handle: handles.add(v.ref), length, kind: v.hint?.kind ?? null, lazy: v.hint?.lazy === true };
}

export async function frameView(dbg: Debugger, frame: Frame): Promise<FrameView> {
  const source = await dbg.source(frame).catch(() => null);
  const text = source?.lines[frame.line - 1];
  return { index: frame.index, function: frame.name, file: showPath(frame.path), origin: frame.sourceName, line: frame.line, source: text === undefined ? null : text.trim() };
}

export async function stopView(dbg: Debugger, stop: Stop): Promise<StopView> {
  const top = stop.frames[0];
  return {
    reason: stop.reason,
    description: stop.description ?? stop.text ?? null,
    thread: { id: stop.threadId, name: stop.threadName },
    frame: top ? await frameView(dbg, top) : null,
    breakpoints: stop.breakpoints,
    exception: stop.exception ? { id: stop.exception.id, description: stop.exception.description ?? null } : null,
  };
}

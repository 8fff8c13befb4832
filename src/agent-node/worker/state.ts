// What every request handler of one debugging session shares: the V8 runtime, breakpoints, source maps,
// handles for variables and sources, and the client's path mappings.

import { LongreachError } from '../../protocol/errors.js';
import type { SourceMaps } from '../sourcemaps.js';
import type { PathMapping } from '../translate/paths.js';
import type { Breakpoints } from './breakpoints.js';
import type { PauseState, V8Runtime } from './runtime.js';

export type Handle =
  | { kind: 'object'; objectId: string; evaluateName?: string | undefined; proxy?: boolean }
  | { kind: 'scope'; frameIndex: number; parts: { objectId: string; scopeNumber: number }[] }
  | { kind: 'getter'; objectId: string; name: string; evaluateName?: string | undefined };

/** Numbered references handed to the client; valid until the program resumes. */
export class Handles<T> {
  #next = 1;
  readonly #items = new Map<number, T>();

  add(item: T): number {
    const id = this.#next++;
    this.#items.set(id, item);
    return id;
  }

  get(id: unknown): T | undefined {
    return typeof id === 'number' ? this.#items.get(id) : undefined;
  }

  clear(): void {
    this.#items.clear();
  }
}

export const THREAD_ID = 1;
export const OBJECT_GROUP = 'longreach';

export interface SessionState {
  runtime: V8Runtime;
  breakpoints: Breakpoints;
  maps: SourceMaps;
  variables: Handles<Handle>;
  /** sourceReference → scriptId, for scripts without a file (node: internals, eval). */
  sources: Handles<string>;
  mappings: PathMapping[];
  send(event: string, body?: unknown): void;
}

export function requirePaused(state: SessionState, what: string): PauseState {
  const paused = state.runtime.paused;
  if (!paused) throw new LongreachError('LR_NOT_STOPPED', `${what} needs the program to be stopped; pause it or wait for a breakpoint`);
  return paused;
}

export function badRequest(message: string): LongreachError {
  return new LongreachError('LR_BAD_REQUEST', message);
}

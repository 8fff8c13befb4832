// Which of the client's line breakpoints some process of a job session has verified (docs/protocol.md 5.3). The
// session sends each setBreakpoints to the root, whose answer (its ids) is the client's, and to every other process,
// whose answers and `breakpoint` events name ids of their own. A breakpoint is verified when any process has
// verified it: a file that only a child loads (a worker's module, a script the root starts) is verified once that
// child has it, whether or not the root ever loads it. Mechanism only: job-session.ts feeds it the answers and
// sends what it returns.

type Breakpoint = Record<string, unknown>;

interface SourceState {
  /** The client's latest setBreakpoints for the source: answers to earlier ones are stale. */
  generation: number;
  /** The root's ids, by the index of the breakpoint in that request (null until the root has answered). */
  rootIds: (number | undefined)[] | null;
  /** Index -> the line of a process that verified it (before the root answered, or since). */
  verified: Map<number, number>;
  /** Indices the client knows as verified (in the root's answer, or from an event of ours). */
  told: Set<number>;
}

/** Where a process's own breakpoint id points: the client's breakpoint at `index` of `path`'s request `generation`. */
export interface ChildBreakpoint {
  path: string;
  generation: number;
  index: number;
}

export class VerifiedAnywhere {
  readonly #sources = new Map<string, SourceState>();

  /** The client set `path`'s breakpoints anew: answers about the earlier ones no longer count. */
  reset(path: string): number {
    const generation = (this.#sources.get(path)?.generation ?? 0) + 1;
    this.#sources.set(path, { generation, rootIds: null, verified: new Map(), told: new Set() });
    return generation;
  }

  generation(path: string): number {
    return this.#sources.get(path)?.generation ?? 0;
  }

  /**
   * The root's answer, as the client gets it: a breakpoint the root did not verify and another process already has
   * is verified, at that process's line.
   */
  rootAnswered(path: string, generation: number, breakpoints: Breakpoint[]): Breakpoint[] {
    const state = this.#current(path, generation);
    if (!state) return breakpoints;
    state.rootIds = breakpoints.map((b) => (typeof b.id === 'number' ? b.id : undefined));
    return breakpoints.map((b, index) => {
      if (b.verified === true) {
        state.told.add(index);
        return b;
      }
      const line = state.verified.get(index);
      if (line === undefined) return b;
      state.told.add(index);
      const { message: _message, ...rest } = b;
      return { ...rest, verified: true, line };
    });
  }

  /**
   * A process answered a setBreakpoints of the session: where each of its ids points (for its later events), and the
   * `breakpoint` events the client gets for the breakpoints it verified first.
   */
  childAnswered(path: string, generation: number, breakpoints: Breakpoint[]): { ids: Map<number, ChildBreakpoint>; changed: Breakpoint[] } {
    const ids = new Map<number, ChildBreakpoint>();
    const changed: Breakpoint[] = [];
    breakpoints.forEach((b, index) => {
      if (typeof b.id === 'number') ids.set(b.id, { path, generation, index });
      if (b.verified === true) {
        const event = this.childVerified({ path, generation, index }, b.line);
        if (event) changed.push(event);
      }
    });
    return { ids, changed };
  }

  /** A process verified the breakpoint at `where`: the `breakpoint` event's body for the client, if it is news. */
  childVerified(where: ChildBreakpoint, line: unknown): Breakpoint | null {
    const state = this.#current(where.path, where.generation);
    if (!state || typeof line !== 'number' || state.told.has(where.index)) return null;
    if (!state.verified.has(where.index)) state.verified.set(where.index, line);
    const id = state.rootIds?.[where.index];
    if (id === undefined) return null; // the root's answer carries it (rootAnswered)
    state.told.add(where.index);
    return { reason: 'changed', breakpoint: { id, verified: true, line } };
  }

  /** The client's id for the breakpoint a process's own id points to (its stops name it), once the root answered. */
  rootId(where: ChildBreakpoint): number | undefined {
    return this.#current(where.path, where.generation)?.rootIds?.[where.index];
  }

  #current(path: string, generation: number): SourceState | null {
    const state = this.#sources.get(path);
    return state && state.generation === generation ? state : null;
  }
}

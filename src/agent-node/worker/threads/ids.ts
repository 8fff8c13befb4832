// The ids a client sees for a worker's frames, variables and sources. Each worker's handlers number them from 1, as
// the main thread's do; the client gets them renumbered from WORKER_IDS upwards (the main thread's stay below), and
// a request naming such an id goes back to its worker with the worker's own number. Frame and variable ids last
// until their worker resumes, source ids until it ends (as the main thread's).

/** The first id handed out for a worker's things; below it, ids are the main thread's. (A job's ids stay < 2^31.) */
export const WORKER_IDS = 2 ** 30;
const LAST_ID = 2 ** 31 - 1;

export type IdKind = 'frame' | 'variables' | 'source';

interface Owner<T> {
  owner: T;
  kind: IdKind;
  local: number;
}

export class IdMap<T> {
  readonly #byGlobal = new Map<number, Owner<T>>();
  readonly #byLocal = new Map<T, Map<string, number>>();
  #next = WORKER_IDS;

  /** The client's id for `owner`'s own id `local` of this kind (the same one each time until it is dropped). */
  outward(owner: T, kind: IdKind, local: number): number {
    let mine = this.#byLocal.get(owner);
    if (!mine) this.#byLocal.set(owner, (mine = new Map()));
    const key = `${kind}:${local}`;
    const known = mine.get(key);
    if (known !== undefined) return known;
    if (this.#next > LAST_ID) this.#next = WORKER_IDS; // after two billion ids: start again (old ones are long gone)
    const id = this.#next++;
    mine.set(key, id);
    this.#byGlobal.set(id, { owner, kind, local });
    return id;
  }

  /** Whose id this is, and its own number; undefined for an id this map never gave out or has dropped. */
  inward(id: unknown, kind: IdKind): { owner: T; local: number } | undefined {
    if (typeof id !== 'number') return undefined;
    const o = this.#byGlobal.get(id);
    return o && o.kind === kind ? { owner: o.owner, local: o.local } : undefined;
  }

  /** Forgets `owner`'s ids of these kinds (it resumed: frames and variables), or all of them (it ended). */
  drop(owner: T, kinds: readonly IdKind[] = ['frame', 'variables', 'source']): void {
    const mine = this.#byLocal.get(owner);
    if (!mine) return;
    for (const [key, id] of mine) {
      const o = this.#byGlobal.get(id);
      if (!o || !kinds.includes(o.kind)) continue;
      this.#byGlobal.delete(id);
      mine.delete(key);
    }
    if (mine.size === 0) this.#byLocal.delete(owner);
  }
}

/** True for an id in the workers' range (a request naming one goes to a worker, or fails if it has gone). */
export function isWorkerId(id: unknown): id is number {
  return typeof id === 'number' && id >= WORKER_IDS;
}

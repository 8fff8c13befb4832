// The ONE file that talks to node:inspector. It connects the worker to the main thread's V8 inspector and
// exposes a promise-based post() and an event hook; everything above it speaks plain CDP JSON. The agent keeps one
// main-thread session from the first attach to the program's exit and lends it to each debugging session in turn
// (Lease): Node.js 20 leaves ~1.1 KB of native memory behind for every session connected and disconnected again.

import { Session } from 'node:inspector';
import { log, logEnabled } from '../../protocol/log.js';

export type CdpListener = (params: any) => void;

/** What the V8 side needs of a connection: this file's Cdp (the main thread), or a worker's channel (worker/threads). */
export interface CdpChannel {
  readonly connected: boolean;
  connect(): void;
  disconnect(): void;
  post<T = any>(method: string, params?: object): Promise<T>;
  on(method: string, listener: CdpListener): () => void;
}

/** Every main-thread session this worker holds open, so that the program's exit can end them all first. */
const open = new Set<Cdp>();
let openWatcher: (count: number) => void = () => undefined;

/** Told how many sessions are open whenever that changes (the main thread's exit hook must end them, see below). */
export function watchOpenSessions(watcher: (count: number) => void): void {
  openWatcher = watcher;
}

/**
 * The program is exiting: every session ends now, before the main thread goes on. A session still connected while
 * Node tears the process down races its teardown (a rare abort in Node 20), and Node would wait for it
 * ("Waiting for the debugger to disconnect...").
 */
export function disconnectAll(): void {
  for (const cdp of [...open]) cdp.disconnect();
}

export class Cdp implements CdpChannel {
  #session: Session | null = null;
  readonly #listeners = new Map<string, Set<CdpListener>>();

  get connected(): boolean {
    return this.#session !== null;
  }

  /** Connects to the main thread (call from a worker thread only). Idempotent. */
  connect(): void {
    if (this.#session) return;
    const session = new Session();
    session.connectToMainThread();
    session.on('inspectorNotification', (message: { method: string; params?: unknown }) => {
      const set = this.#listeners.get(message.method);
      if (!set) return;
      for (const fn of [...set]) fn(message.params ?? {});
    });
    this.#session = session;
    open.add(this);
    openWatcher(open.size);
  }

  disconnect(): void {
    const session = this.#session;
    this.#session = null;
    if (!session) return;
    session.disconnect();
    open.delete(this);
    openWatcher(open.size);
  }

  post<T = any>(method: string, params: object = {}): Promise<T> {
    const session = this.#session;
    if (!session) return Promise.reject(new Error(`inspector not connected (${method})`));
    return new Promise<T>((resolve, reject) => {
      (session.post as (m: string, p: object, cb: (err: Error | null, result?: unknown) => void) => void)(method, params, (err, result) => {
        if (err) reject(err);
        else resolve(result as T);
        // what crossed from the program's thread (LONGREACH_LOG=cdp): the size of each answer, as JSON text
        if (logEnabled('cdp')) log('cdp', `${method} answered ${JSON.stringify(result ?? null).length} chars`);
      });
    });
  }

  on(method: string, listener: CdpListener): () => void {
    let set = this.#listeners.get(method);
    if (!set) this.#listeners.set(method, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  }
}

/**
 * One debugging session's use of the kept main-thread session: connect() and disconnect() start and end the loan, not
 * the inspector session. While not lent it posts nothing (a request before attach fails as with no connection). It
 * records every object group a request names, and its end takes back everything registered through it: each
 * listener, each of those object groups (the caller switches the Debugger domain off first, see V8Runtime.release).
 */
export class Lease implements CdpChannel {
  readonly #cdp: Cdp;
  #lent = false;
  readonly #offs = new Set<() => void>();
  readonly #groups = new Set<string>();

  constructor(cdp: Cdp) {
    this.#cdp = cdp;
  }

  get connected(): boolean {
    return this.#lent && this.#cdp.connected;
  }

  connect(): void {
    this.#cdp.connect();
    this.#lent = true;
  }

  /** Ends the loan: the object groups this session used are released, its listeners removed; the session stays. */
  disconnect(): void {
    if (!this.#lent) return;
    this.#lent = false;
    for (const objectGroup of this.#groups) this.#cdp.post('Runtime.releaseObjectGroup', { objectGroup }).catch(() => undefined);
    this.#groups.clear();
    for (const off of [...this.#offs]) off();
  }

  post<T = any>(method: string, params: object = {}): Promise<T> {
    if (!this.#lent) return Promise.reject(new Error(`inspector not connected (${method})`));
    const group = (params as { objectGroup?: unknown }).objectGroup;
    if (typeof group === 'string') this.#groups.add(group);
    return this.#cdp.post<T>(method, params);
  }

  on(method: string, listener: CdpListener): () => void {
    const off = this.#cdp.on(method, listener);
    const mine = (): void => {
      off();
      this.#offs.delete(mine);
    };
    this.#offs.add(mine);
    return mine;
  }
}

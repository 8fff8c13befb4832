// The ONE file that talks to node:inspector. It connects the worker to the main thread's V8 inspector and
// exposes a promise-based post() and an event hook; everything above it speaks plain CDP JSON.

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
  }

  disconnect(): void {
    const session = this.#session;
    this.#session = null;
    session?.disconnect();
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

// A worker_threads worker's inspector, reached through the main thread's: CDP requests go out as
// `NodeWorker.sendMessageToWorker`, answers and events come back as `NodeWorker.receivedMessageFromWorker`. It has the
// shape of the main thread's connection (inspector/cdp.ts), so a V8Runtime and every handler work over it unchanged.

import type { CdpChannel, CdpListener } from '../../inspector/cdp.js';

/** A request to a worker that gets no answer within this long fails (a worker blocked in a system call). */
const ANSWER_TIMEOUT_MS = 30_000;

/** Request ids, unique in the process: a session that ends with requests unanswered (a worker blocked in a system
 * call) leaves answers behind that the next session's channel to the same worker must not take for its own. */
let nextId = 1;

interface Waiting {
  method: string;
  resolve: (value: any) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class WorkerChannel implements CdpChannel {
  readonly #parent: CdpChannel;
  readonly #sessionId: string;
  readonly #listeners = new Map<string, Set<CdpListener>>();
  readonly #waiting = new Map<number, Waiting>();
  #open = true;
  /** No new request is sent (answers to those sent still arrive): see seal(). */
  #sealed = false;

  /** `parent`: the main thread's connection, with the NodeWorker domain on; `sessionId`: from attachedToWorker. */
  constructor(parent: CdpChannel, sessionId: string) {
    this.#parent = parent;
    this.#sessionId = sessionId;
  }

  get sessionId(): string {
    return this.#sessionId;
  }

  get connected(): boolean {
    return this.#open;
  }

  /** Nothing to do: the NodeWorker domain attached this session already. */
  connect(): void {}

  /** The worker has gone (or the debugger detached): every request still waiting fails, nothing more is sent. */
  disconnect(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const [id, w] of this.#waiting) {
      clearTimeout(w.timer);
      w.reject(new Error(`the worker ended before answering ${w.method}`));
      this.#waiting.delete(id);
    }
    this.#listeners.clear();
  }

  /**
   * The debugger is done with this worker (its release has sent its last messages): from now on a request is refused
   * here instead of sent, while the answers to those already sent still arrive. A worker let run may run to its end,
   * and Node 20 aborts the whole process when a message for a worker meets its inspector's teardown.
   */
  seal(): void {
    this.#sealed = true;
  }

  post<T = any>(method: string, params: object = {}): Promise<T> {
    if (!this.#open) return Promise.reject(new Error(`the worker has ended (${method})`));
    if (this.#sealed) return Promise.reject(new Error(`the debugger has let this worker go (${method})`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`the worker did not answer ${method} within ${ANSWER_TIMEOUT_MS / 1000} s`));
      }, ANSWER_TIMEOUT_MS);
      timer.unref();
      this.#waiting.set(id, { method, resolve, reject, timer });
      const message = JSON.stringify({ id, method, params });
      this.#parent.post('NodeWorker.sendMessageToWorker', { sessionId: this.#sessionId, message }).catch((err: unknown) => {
        const w = this.#waiting.get(id);
        if (!w) return;
        clearTimeout(w.timer);
        this.#waiting.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  /** Lets a worker held at its start run, waiting for no answer; also once disconnected (a release that the next
   * debugging session cut short must still let its worker go). */
  letRun(): void {
    const message = JSON.stringify({ id: nextId++, method: 'Runtime.runIfWaitingForDebugger' });
    void this.#parent.post('NodeWorker.sendMessageToWorker', { sessionId: this.#sessionId, message }).catch(() => undefined);
  }

  on(method: string, listener: CdpListener): () => void {
    let set = this.#listeners.get(method);
    if (!set) this.#listeners.set(method, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  }

  /** One message from the worker (the text of receivedMessageFromWorker): an answer or an event. */
  receive(text: string): void {
    if (!this.#open) return;
    let message: { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message?: string } };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message.id === 'number') {
      const w = this.#waiting.get(message.id);
      if (!w) return;
      clearTimeout(w.timer);
      this.#waiting.delete(message.id);
      if (message.error) w.reject(new Error(message.error.message ?? `${w.method} failed`));
      else w.resolve(message.result ?? {});
      return;
    }
    if (typeof message.method !== 'string') return;
    const set = this.#listeners.get(message.method);
    if (!set) return;
    for (const fn of [...set]) fn(message.params ?? {});
  }
}

// The hub as a requester on an agent's connection: send a request, wait (bounded) for its response. Detachable,
// so a session connection can turn into a raw relay once the hub's own requests are done.

import type { DapConnection } from '../protocol/connection.js';
import { LongreachError, fromErrorResponse } from '../protocol/errors.js';
import type { DapMessage } from '../protocol/framing.js';

interface Waiting {
  resolve(body: unknown): void;
  reject(err: LongreachError): void;
  timer: NodeJS.Timeout;
}

export class Requester {
  readonly #conn: DapConnection;
  readonly #what: string;
  readonly #waiting = new Map<number, Waiting>();
  readonly #onMessage = (message: DapMessage): void => this.#handle(message);
  readonly #onClose = (): void => this.#failAll();

  constructor(conn: DapConnection, what: string) {
    this.#conn = conn;
    this.#what = what;
    conn.on('message', this.#onMessage);
    conn.on('close', this.#onClose);
  }

  request<T = Record<string, unknown>>(command: string, args: object = {}, timeoutMs = 10_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const seq = this.#conn.send({ type: 'request', command, arguments: args });
      if (seq === 0) {
        reject(new LongreachError('LR_CLOSED', `${this.#what} has gone`));
        return;
      }
      const timer = setTimeout(() => {
        this.#waiting.delete(seq);
        reject(new LongreachError('LR_TIMEOUT', `${this.#what} did not answer ${command} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#waiting.set(seq, { resolve: resolve as (b: unknown) => void, reject, timer });
    });
  }

  /** Stops listening: later messages are someone else's. */
  detach(): void {
    this.#conn.off('message', this.#onMessage);
    this.#conn.off('close', this.#onClose);
    this.#failAll();
  }

  #handle(message: DapMessage): void {
    if (message.type !== 'response') return;
    const waiting = this.#waiting.get(message.request_seq as number);
    if (!waiting) return;
    this.#waiting.delete(message.request_seq as number);
    clearTimeout(waiting.timer);
    if (message.success === true) waiting.resolve(message.body ?? {});
    else waiting.reject(fromErrorResponse(message as { message?: string; body?: unknown }));
  }

  #failAll(): void {
    for (const [seq, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new LongreachError('LR_CLOSED', `${this.#what} closed the connection`));
      this.#waiting.delete(seq);
    }
  }
}

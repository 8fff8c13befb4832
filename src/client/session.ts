// A client-side DAP session: typed requests with a timeout on every wait, events, and one place that
// turns a dead connection into errors for everyone still waiting.

import { EventEmitter } from 'node:events';
import type { DapConnection } from '../protocol/connection.js';
import { LongreachError, fromErrorResponse } from '../protocol/errors.js';
import type { DapMessage } from '../protocol/framing.js';

export const DEFAULT_TIMEOUT_MS = 10_000;

interface Pending {
  command: string;
  resolve(body: unknown): void;
  reject(err: LongreachError): void;
  timer: NodeJS.Timeout;
}

export interface SessionEvents {
  /** Every DAP event: name and body. */
  event: [string, unknown];
  close: [LongreachError | null];
}

export interface WaitOptions<T> {
  timeoutMs?: number;
  predicate?: (body: T) => boolean;
}

export class DapSession extends EventEmitter<SessionEvents> {
  readonly target: string;
  readonly timeoutMs: number;
  readonly #conn: DapConnection;
  readonly #pending = new Map<number, Pending>();
  #closeError: LongreachError | null = null;
  #closed = false;

  constructor(conn: DapConnection, { target, timeoutMs = DEFAULT_TIMEOUT_MS }: { target: string; timeoutMs?: number }) {
    super();
    this.#conn = conn;
    this.target = target;
    this.timeoutMs = timeoutMs;
    conn.on('message', (message) => this.#onMessage(message));
    conn.on('close', (err) => this.#onClose(err));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a request and resolves with the response body; an error response rejects with a LongreachError. */
  request<T = any>(command: string, args?: object, { timeoutMs = this.timeoutMs }: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(this.#gone(command));
    return new Promise<T>((resolve, reject) => {
      const message: { type: string; command: string; arguments?: object } = { type: 'request', command };
      if (args !== undefined) message.arguments = args;
      const seq = this.#conn.send(message);
      if (seq === 0) {
        reject(this.#gone(command));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(seq);
        reject(new LongreachError('LR_TIMEOUT', `no answer to ${command} from ${this.target} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.#pending.set(seq, { command, resolve: resolve as (b: unknown) => void, reject, timer });
    });
  }

  /** Resolves with the body of the next event called `name` (that satisfies `predicate`). */
  waitForEvent<T = any>(name: string, { timeoutMs = this.timeoutMs, predicate }: WaitOptions<T> = {}): Promise<T> {
    if (this.#closed) return Promise.reject(this.#gone(`the ${name} event`));
    return new Promise<T>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      const onEvent = (event: string, body: unknown): void => {
        if (event !== name || (predicate && !predicate(body as T))) return;
        cleanup();
        resolve(body as T);
      };
      const onClose = (): void => {
        cleanup();
        reject(this.#gone(`the ${name} event`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new LongreachError('LR_TIMEOUT', `no ${name} event from ${this.target} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  /** Resolves when the connection has closed (never rejects). */
  whenClosed(): Promise<LongreachError | null> {
    if (this.#closed) return Promise.resolve(this.#closeError);
    return new Promise((resolve) => this.once('close', resolve));
  }

  /** Sends disconnect (bounded wait) and closes; the program keeps running unless `terminateDebuggee`. */
  async disconnect(args: { terminateDebuggee?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    try {
      await this.request('disconnect', args, { timeoutMs: Math.min(this.timeoutMs, 5000) });
    } finally {
      this.close();
    }
  }

  close(): void {
    this.#conn.close();
  }

  #onMessage(message: DapMessage): void {
    if (message.type === 'response') {
      const pending = this.#pending.get(message.request_seq as number);
      if (!pending) return;
      this.#pending.delete(message.request_seq as number);
      clearTimeout(pending.timer);
      if (message.success === true) pending.resolve(message.body);
      else pending.reject(fromErrorResponse(message as { message?: string; body?: unknown }));
    } else if (message.type === 'event' && typeof message.event === 'string') {
      if (message.event === 'longreach/error') {
        const body = message.body as { code?: unknown; message?: unknown } | undefined;
        this.#closeError = fromErrorResponse({ message: String(body?.code ?? ''), body: { error: { code: body?.code, format: body?.message } } }, 'LR_CLOSED');
      }
      this.emit('event', message.event, message.body);
    } else if (message.type === 'request') {
      this.#answerReverse(message);
    }
  }

  /** Reverse requests (runInTerminal, startDebugging) are not ours to serve: say so instead of leaving them hanging. */
  #answerReverse(message: DapMessage): void {
    this.#conn.send({ type: 'response', request_seq: message.seq, command: message.command, success: false, message: 'not supported by the longreach client' });
  }

  #gone(what: string): LongreachError {
    const why = this.#closeError ? `: ${this.#closeError.message}` : '';
    return new LongreachError(this.#closeError?.code ?? 'LR_CLOSED', `connection to ${this.target} closed before ${what}${why}`);
  }

  #onClose(err: LongreachError | null): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError ??= err;
    for (const [seq, pending] of this.#pending) {
      clearTimeout(pending.timer);
      this.#pending.delete(seq);
      pending.reject(this.#gone(`answering ${pending.command}`));
    }
    this.emit('close', this.#closeError);
  }
}

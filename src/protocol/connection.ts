// One DAP endpoint over a socket: framing with limits, sequence numbers, and one place that handles
// write failures and disconnects. Used by the server core and the client alike.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { LongreachError } from './errors.js';
import { FrameDecoder, PRE_AUTH_BODY_LIMIT, encodeFrame, type DapMessage, type OutgoingMessage } from './framing.js';
import { logWire } from './log.js';

export interface ConnectionEvents {
  message: [DapMessage];
  /** Emitted once. `error` is set when the connection ended because of bad input or a socket fault. */
  close: [LongreachError | null];
}

export class DapConnection extends EventEmitter<ConnectionEvents> {
  readonly socket: Socket;
  readonly peer: string;
  #decoder: FrameDecoder;
  #seq = 1;
  #closed = false;
  #closeError: LongreachError | null = null;

  constructor(socket: Socket, { peer, bodyLimit = PRE_AUTH_BODY_LIMIT }: { peer: string; bodyLimit?: number }) {
    super();
    this.socket = socket;
    this.peer = peer;
    this.#decoder = new FrameDecoder(bodyLimit);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#closeError ??= new LongreachError('LR_CLOSED', `connection to ${peer} failed: ${err.code ?? err.message}`, { cause: err });
    });
    socket.on('close', () => this.#finish());
  }

  get closed(): boolean {
    return this.#closed;
  }

  set bodyLimit(limit: number) {
    this.#decoder.bodyLimit = limit;
  }

  /** Sends a message, filling in `seq`. Returns that seq, or 0 (and sends nothing) when the connection is gone. */
  send(message: OutgoingMessage): number {
    if (this.#closed || this.socket.destroyed) return 0;
    const full: DapMessage = { ...message, seq: this.#seq++ };
    logWire('->', this.peer, full);
    try {
      this.socket.write(encodeFrame(full));
      return full.seq;
    } catch (err) {
      this.#closeError ??= new LongreachError('LR_CLOSED', `write to ${this.peer} failed`, { cause: err });
      this.socket.destroy();
      return 0;
    }
  }

  /** Tells the peer why (a `longreach/error` event), then closes. The connection counts as closed at once (its
   * `close` event fires now): the socket may take up to a second to finish, and whatever hangs on this connection
   * (an attached debug session) must not outlive the bad input by that second. */
  fail(err: LongreachError): void {
    this.#closeError ??= err;
    this.send({ type: 'event', event: 'longreach/error', body: { code: err.code, message: err.message } });
    this.close();
    this.#finish();
  }

  /** Closes after flushing what was written. Never throws. */
  close(): void {
    if (this.socket.destroyed) return;
    this.socket.end();
    // A peer that never reads must not keep us half-open: destroy shortly after ending.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    for (const message of this.#decoder.push(chunk)) {
      if (this.socket.destroyed) return;
      logWire('<-', this.peer, message);
      this.emit('message', message);
    }
    const error = this.#decoder.error;
    if (error && !this.#closed) {
      this.socket.pause();
      this.fail(error);
    }
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close', this.#closeError);
  }
}

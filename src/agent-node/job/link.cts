// A framed connection between two processes of one job over a Unix socket: the same Content-Length frames as the
// wire (src/protocol/framing.cts) and as the Python agent's job links (python/longreach/job/link.py), so a Node.js
// process and a Python one can share a job. Unlike DapConnection it sends messages exactly as given (a relay keeps
// the client's sequence numbers; the hello has none), and a small frame limit holds until the peer proved it
// belongs to the job.

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { DEFAULT_BODY_LIMIT, FrameDecoder, PRE_AUTH_BODY_LIMIT, encodeFrame, type DapMessage } from '../../protocol/framing.cjs';

export type JobMessage = Record<string, unknown>;

export class Link extends EventEmitter<{ message: [JobMessage]; close: [] }> {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder(PRE_AUTH_BODY_LIMIT);
  #closed = false;

  constructor(socket: Socket) {
    super();
    this.socket = socket;
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.#finish());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The peer proved it belongs to the job: lift the small frame limit. */
  trust(): void {
    this.#decoder.bodyLimit = DEFAULT_BODY_LIMIT;
  }

  /** Sends one message as it is; false when the link is gone (never throws). */
  send(message: JobMessage): boolean {
    if (this.#closed || this.socket.destroyed) return false;
    try {
      this.socket.write(encodeFrame(message));
      return true;
    } catch {
      this.close();
      return false;
    }
  }

  /** Closes after flushing what was written (a peer that never reads is cut off a second later). */
  close(): void {
    if (!this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
    }
    this.#finish();
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    for (const message of this.#decoder.push(chunk) as DapMessage[]) {
      if (this.#closed) return;
      this.emit('message', message as JobMessage);
    }
    if (this.#decoder.error) this.close();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close');
  }
}

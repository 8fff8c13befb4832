// A deliberately dumb peer for hostile-input tests: writes whatever bytes it is told and records what comes back.

import { connect, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame, type DapMessage } from '../../src/protocol/framing.js';

export class RawClient {
  readonly socket: Socket;
  readonly messages: DapMessage[] = [];
  readonly closed: Promise<void>;
  #waiters: (() => void)[] = [];
  #seq = 1;

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder(1 << 24);
    socket.on('data', (chunk: Buffer) => {
      this.messages.push(...decoder.push(chunk));
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => {
      resolve();
      for (const w of this.#waiters.splice(0)) w();
    }));
    socket.on('error', () => undefined);
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  send(command: string, args?: object): number {
    const seq = this.#seq++;
    this.socket.write(encodeFrame({ seq, type: 'request', command, ...(args ? { arguments: args } : {}) }));
    return seq;
  }

  /** Waits (bounded) for a message matching `match`. */
  async next(match: (m: DapMessage) => boolean, timeoutMs = 5000): Promise<DapMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found) return found;
      if (this.socket.destroyed && this.socket.readableEnded) throw new Error(`connection closed; got ${JSON.stringify(this.messages)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  response(seq: number): Promise<DapMessage> {
    return this.next((m) => m.type === 'response' && m.request_seq === seq);
  }

  async request(command: string, args?: object): Promise<DapMessage> {
    return this.response(this.send(command, args));
  }

  /** Resolves true when the server closed the connection within the time. */
  async closedWithin(ms = 5000): Promise<boolean> {
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The DAP error code carried by a response (docs/protocol.md section 9). */
export function codeOf(response: DapMessage): string | undefined {
  return (response.body as { error?: { code?: string } } | undefined)?.error?.code;
}

// The smallest WebSocket client the inspector needs (RFC 6455, text frames, loopback only): Node 20 has no global
// WebSocket. Every frame is bounded; every wait belongs to the caller's deadline.

import { randomBytes, createHash } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { LongreachError } from '../../protocol/errors.js';

const MAX_FRAME = 16 * 1024 * 1024;

export class InspectorSocket {
  #socket: Socket;
  #buffer = Buffer.alloc(0);
  #waiters = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #closed = false;

  private constructor(socket: Socket, head: Buffer) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('close', () => this.#fail(new LongreachError('LR_CLOSED', 'the inspector connection closed')));
    socket.on('error', () => undefined);
    if (head.length > 0) this.#receive(head);
  }

  static open(url: string, timeoutMs: number): Promise<InspectorSocket> {
    const target = new URL(url);
    if (target.hostname !== '127.0.0.1' && target.hostname !== 'localhost' && target.hostname !== '[::1]') {
      return Promise.reject(new LongreachError('LR_INJECT_FAILED', `the inspector is not on loopback (${target.host}); refusing to use it`));
    }
    const key = randomBytes(16).toString('base64');
    return new Promise((resolve, reject) => {
      const req = request({ host: target.hostname.replace(/^\[|\]$/g, ''), port: Number(target.port), path: target.pathname, timeout: timeoutMs, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' } });
      req.on('upgrade', (res, socket, head) => {
        const expected = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (res.headers['sec-websocket-accept'] !== expected) {
          socket.destroy();
          reject(new LongreachError('LR_INJECT_FAILED', 'the inspector answered the WebSocket handshake wrongly'));
          return;
        }
        socket.setTimeout(0);
        resolve(new InspectorSocket(socket, head));
      });
      req.on('response', (res) => {
        res.resume();
        reject(new LongreachError('LR_INJECT_FAILED', `the inspector refused the connection (HTTP ${res.statusCode}); is another debugger attached?`));
      });
      req.on('timeout', () => req.destroy(new LongreachError('LR_TIMEOUT', 'the inspector did not answer the handshake in time')));
      req.on('error', reject);
      req.end();
    });
  }

  /** Sends a CDP command; resolves with its result, rejects with its error or on close. */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (this.#closed) return Promise.reject(new LongreachError('LR_CLOSED', 'the inspector connection is closed'));
    const id = this.#nextId++;
    const payload = Buffer.from(JSON.stringify({ id, method, params }), 'utf8');
    const mask = randomBytes(4);
    const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : payload.length < 65536 ? Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]) : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), bigLength(payload.length)]);
    const masked = Buffer.alloc(payload.length);
    for (let i = 0; i < payload.length; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
    this.#socket.write(Buffer.concat([header, mask, masked]));
    return new Promise((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
    } catch {
      // already gone
    }
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      if (this.#buffer.length < 2) return;
      const opcode = this.#buffer[0]! & 0x0f;
      let length = this.#buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.#buffer.length < 4) return;
        length = this.#buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.#buffer.length < 10) return;
        length = Number(this.#buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (length > MAX_FRAME) {
        this.#fail(new LongreachError('LR_FRAME_TOO_LARGE', 'the inspector sent a frame over 16 MiB'));
        this.#socket.destroy();
        return;
      }
      if (this.#buffer.length < offset + length) return;
      const body = this.#buffer.subarray(offset, offset + length);
      this.#buffer = this.#buffer.subarray(offset + length);
      if (opcode === 0x8) {
        this.#socket.destroy();
        return;
      }
      if (opcode !== 0x1) continue;
      let message: { id?: number; result?: Record<string, unknown>; error?: { message?: string } };
      try {
        message = JSON.parse(body.toString('utf8')) as typeof message;
      } catch {
        continue;
      }
      const waiter = message.id === undefined ? undefined : this.#waiters.get(message.id);
      if (!waiter) continue;
      this.#waiters.delete(message.id!);
      if (message.error) waiter.reject(new LongreachError('LR_INJECT_FAILED', `inspector: ${message.error.message ?? 'error'}`));
      else waiter.resolve(message.result ?? {});
    }
  }

  #fail(err: Error): void {
    this.#closed = true;
    for (const waiter of this.#waiters.values()) waiter.reject(err);
    this.#waiters.clear();
  }
}

function bigLength(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

// Content-Length framing of DAP messages (docs/protocol.md section 2).
// The decoder checks every limit before buffering, so a peer cannot make us hold more than one frame's worth.

import { LongreachError } from './errors.cjs';

export const HEADER_LIMIT = 1024;
export const PRE_AUTH_BODY_LIMIT = 64 * 1024;
export const DEFAULT_BODY_LIMIT = 16 * 1024 * 1024;

export interface DapMessage {
  seq: number;
  type: string;
  [key: string]: unknown;
}

/** A message about to be sent: the connection fills in `seq`. */
export interface OutgoingMessage {
  type: string;
  [key: string]: unknown;
}

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeFrame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);
}

function isHeaderByte(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || byte === 0x09 || byte === 0x0d || byte === 0x0a;
}

/** Incremental decoder: push chunks, get whole messages; the first bad frame sets `error` for good. */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #bodyLength: number | null = null;
  #failed: LongreachError | null = null;
  bodyLimit: number;

  constructor(bodyLimit = PRE_AUTH_BODY_LIMIT) {
    this.bodyLimit = bodyLimit;
  }

  /** True while bytes of an unfinished frame are held. */
  get pending(): boolean {
    return this.#buffered > 0 || this.#bodyLength !== null;
  }

  /** The first framing error; once set, the decoder accepts nothing more. */
  get error(): LongreachError | null {
    return this.#failed;
  }

  /**
   * Feeds bytes; returns every message completed by them. Never throws: when the bytes hold a bad frame,
   * the messages before it are returned and `error` is set (check it after every push).
   */
  push(chunk: Buffer): DapMessage[] {
    if (this.#failed) return [];
    const out: DapMessage[] = [];
    try {
      this.#push(chunk, out);
    } catch (err) {
      if (!(err instanceof LongreachError)) throw err;
      this.#failed = err;
      this.#chunks = [];
      this.#buffered = 0;
      this.#bodyLength = null;
    }
    return out;
  }

  #push(chunk: Buffer, out: DapMessage[]): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#bodyLength === null) {
        const data = this.#take();
        const end = data.indexOf(HEADER_END);
        checkHeaderBytes(data, end < 0 ? data.length : end);
        if (end < 0) {
          if (data.length > HEADER_LIMIT) throw badFrame(`header part exceeds ${HEADER_LIMIT} bytes`);
          return;
        }
        if (end + HEADER_END.length > HEADER_LIMIT) throw badFrame(`header part exceeds ${HEADER_LIMIT} bytes`);
        this.#bodyLength = parseHeader(data.subarray(0, end).toString('latin1'), this.bodyLimit);
        this.#keep(data.subarray(end + HEADER_END.length));
      }
      if (this.#buffered < this.#bodyLength) return;
      const data = this.#take();
      const body = data.subarray(0, this.#bodyLength);
      const rest = data.subarray(this.#bodyLength);
      this.#bodyLength = null;
      out.push(parseBody(body));
      this.#keep(rest);
      if (this.#buffered === 0) return;
    }
  }

  #take(): Buffer {
    const data = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [data];
    return data;
  }

  #keep(data: Buffer): void {
    this.#chunks = data.length > 0 ? [data] : [];
    this.#buffered = data.length;
  }
}

// A byte outside printable ASCII in the header region fails at once: binary garbage or a TLS ClientHello
// is refused at its first byte instead of waiting for 1 KiB.
function checkHeaderBytes(data: Buffer, stop: number): void {
  for (let i = 0; i < stop; i++) {
    const byte = data[i]!;
    if (!isHeaderByte(byte)) {
      throw badFrame(`byte 0x${byte.toString(16).padStart(2, '0')} in a frame header (is the peer speaking TLS or another protocol?)`);
    }
  }
}

function parseHeader(text: string, bodyLimit: number): number {
  let length: number | null = null;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw badFrame(`header line without a name and colon: ${JSON.stringify(line.slice(0, 40))}`);
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    if (length !== null) throw badFrame('Content-Length appears more than once');
    const value = line.slice(colon + 1).trim();
    if (!/^[0-9]{1,15}$/.test(value)) throw badFrame(`Content-Length must be 1-15 decimal digits, got ${JSON.stringify(value.slice(0, 20))}`);
    length = Number(value);
  }
  if (length === null) throw badFrame('frame has no Content-Length header');
  if (length > bodyLimit) {
    throw new LongreachError('LR_FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the ${bodyLimit}-byte limit`, {
      details: { length, limit: bodyLimit },
    });
  }
  return length;
}

function parseBody(body: Buffer): DapMessage {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw badFrame('frame body is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LongreachError('LR_BAD_MESSAGE', 'frame body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    throw new LongreachError('LR_BAD_MESSAGE', 'frame body must be a JSON object with a string "type"');
  }
  return value as DapMessage;
}

function badFrame(why: string): LongreachError {
  return new LongreachError('LR_BAD_FRAME', `malformed frame: ${why}`);
}

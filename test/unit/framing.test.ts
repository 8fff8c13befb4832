import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LongreachError } from '../../src/protocol/errors.js';
import { FrameDecoder, encodeFrame } from '../../src/protocol/framing.js';
import { readJson } from '../helpers/paths.js';

interface Case { name: string; bodyLimit: number; chunks: string[]; messages: unknown[]; error: string | null; pending: boolean }
const vectors = readJson<{ cases: Case[] }>('spec/vectors/framing.json');

for (const c of vectors.cases) {
  test(`framing vector: ${c.name}`, () => {
    const decoder = new FrameDecoder(c.bodyLimit);
    const got: unknown[] = [];
    let error: string | null = null;
    for (const chunk of c.chunks) {
      got.push(...decoder.push(Buffer.from(chunk, 'base64')));
      if (decoder.error) {
        assert.ok(decoder.error instanceof LongreachError, 'decoder errors are LongreachErrors');
        error = decoder.error.code;
        break;
      }
    }
    assert.deepEqual(got, c.messages);
    assert.equal(error, c.error);
    if (!c.error) assert.equal(decoder.pending, c.pending);
  });
}

test('encodeFrame round-trips through the decoder and counts bytes, not characters', () => {
  const message = { seq: 1, type: 'event', event: 'output', body: { output: 'ünïcödé ✓ 🎉' } };
  const frame = encodeFrame(message);
  assert.match(frame.toString('latin1'), /^Content-Length: \d+\r\n\r\n/);
  assert.deepEqual(new FrameDecoder().push(frame), [message]);
});

test('after an error the decoder keeps failing instead of resynchronising on attacker bytes', () => {
  const decoder = new FrameDecoder(10);
  assert.deepEqual(decoder.push(Buffer.from('Content-Length: 99\r\n\r\n')), []);
  assert.equal(decoder.error?.code, 'LR_FRAME_TOO_LARGE');
  assert.deepEqual(decoder.push(encodeFrame({ seq: 1, type: 'x' })), []);
  assert.equal(decoder.error?.code, 'LR_FRAME_TOO_LARGE');
});

test('the body limit can be raised after authentication', () => {
  const decoder = new FrameDecoder(16);
  decoder.bodyLimit = 1 << 20;
  const big = { seq: 1, type: 'event', body: 'x'.repeat(100_000) };
  assert.deepEqual(decoder.push(encodeFrame(big)), [big]);
});

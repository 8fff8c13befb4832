import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_IDS, LongreachError, fromErrorResponse, toErrorBody } from '../../src/protocol/errors.js';
import { ROOT, readJson } from '../helpers/paths.js';

const spec = readJson<{ errors: { code: string; id: number; summary: string }[] }>('spec/errors.json').errors;

test('codes and ids in spec/errors.json are unique', () => {
  assert.equal(new Set(spec.map((e) => e.code)).size, spec.length);
  assert.equal(new Set(spec.map((e) => e.id)).size, spec.length);
  for (const e of spec) assert.match(e.code, /^LR_[A-Z_]+$/);
});

test('the TypeScript table is identical to spec/errors.json', () => {
  assert.deepEqual(ERROR_IDS, Object.fromEntries(spec.map((e) => [e.code, e.id])));
});

test('the Python table is identical to spec/errors.json', () => {
  const source = readFileSync(join(ROOT, 'python/longreach/errors.py'), 'utf8');
  const pairs = [...source.matchAll(/["'](LR_[A-Z_]+)["']\s*:\s*(\d+)/g)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(Object.fromEntries(pairs), Object.fromEntries(spec.map((e) => [e.code, e.id])));
  assert.equal(pairs.length, spec.length, 'no code appears twice in errors.py');
});

test('an error survives the trip through a DAP error response', () => {
  const err = new LongreachError('LR_ALREADY_ATTACHED', 'already attached by 10.0.0.9:1 since 2026-01-01T00:00:00Z');
  const back = fromErrorResponse({ message: err.code, body: toErrorBody(err) });
  assert.equal(back.code, 'LR_ALREADY_ATTACHED');
  assert.equal(back.message, err.message);
  assert.equal(back.id, 1501);
});

test('an error response from a plain DAP server keeps its text', () => {
  const back = fromErrorResponse({ message: 'Unknown request', body: { error: { format: 'Could not evaluate' } } });
  assert.equal(back.code, 'LR_BAD_REQUEST');
  assert.equal(back.message, 'Could not evaluate');
});

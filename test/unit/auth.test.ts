import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeProof, decodeNonce, makeNonce, proofMatches, secretsEqual } from '../../src/protocol/auth.js';
import { readJson } from '../helpers/paths.js';

interface Case { secret: string; serverNonce: string; clientNonce: string; proof: string; serverProof: string }
const vectors = readJson<{ cases: Case[] }>('spec/vectors/auth.json');

for (const c of vectors.cases) {
  test(`auth vector: ${JSON.stringify(c.secret)}`, () => {
    const sn = Buffer.from(c.serverNonce, 'base64');
    const cn = Buffer.from(c.clientNonce, 'base64');
    assert.equal(computeProof(c.secret, 'client', sn, cn), c.proof);
    assert.equal(computeProof(c.secret, 'server', sn, cn), c.serverProof);
    assert.ok(proofMatches(c.proof, c.proof));
    assert.ok(!proofMatches(c.proof, c.serverProof), 'the two roles never produce the same proof');
  });
}

test('proofMatches refuses anything that is not 64 lowercase hex digits', () => {
  const good = 'a'.repeat(64);
  for (const bad of [undefined, null, 42, '', 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), { length: 64 }]) {
    assert.equal(proofMatches(good, bad), false, String(bad));
  }
});

test('secretsEqual compares values of any length and type safely', () => {
  assert.ok(secretsEqual('s3cret', 's3cret'));
  assert.ok(!secretsEqual('s3cret', 's3cre'));
  assert.ok(!secretsEqual('s3cret', 's3cret '));
  assert.ok(!secretsEqual('s3cret', 123));
  assert.ok(!secretsEqual('s3cret', undefined));
});

test('nonces are fresh, 32 bytes, and client nonces are checked for shape', () => {
  assert.equal(makeNonce().length, 32);
  assert.notDeepEqual(makeNonce(), makeNonce());
  assert.equal(decodeNonce(Buffer.alloc(16, 1).toString('base64'))?.length, 16);
  assert.equal(decodeNonce(Buffer.alloc(15, 1).toString('base64')), null);
  assert.equal(decodeNonce(Buffer.alloc(65, 1).toString('base64')), null);
  assert.equal(decodeNonce('not base64!'), null);
  assert.equal(decodeNonce(7), null);
});

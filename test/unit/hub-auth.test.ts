// Reverse-connect proofs (docs/protocol.md section 11) against spec/vectors/hub-auth.json, which the Python agent's
// tests read too; and the labels keep these proofs apart from each other and from the forward exchange's.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeHubProof, computeProof } from '../../src/protocol/auth.js';
import { readJson } from '../helpers/paths.js';

interface Case { secret: string; agentNonce: string; hubNonce: string; hubProof: string; agentProof: string }
const vectors = readJson<{ cases: Case[] }>('spec/vectors/hub-auth.json');

for (const c of vectors.cases) {
  test(`hub auth vector: ${JSON.stringify(c.secret)}`, () => {
    const a = Buffer.from(c.agentNonce, 'base64');
    const h = Buffer.from(c.hubNonce, 'base64');
    assert.equal(computeHubProof(c.secret, 'hub', a, h), c.hubProof);
    assert.equal(computeHubProof(c.secret, 'agent', a, h), c.agentProof);
    const forward = [computeProof(c.secret, 'client', a, h), computeProof(c.secret, 'server', a, h), computeProof(c.secret, 'client', h, a), computeProof(c.secret, 'server', h, a)];
    assert.notEqual(c.hubProof, c.agentProof);
    for (const p of forward) {
      assert.notEqual(p, c.hubProof, 'a forward proof is never a hub proof');
      assert.notEqual(p, c.agentProof, 'a forward proof is never an agent proof');
    }
  });
}

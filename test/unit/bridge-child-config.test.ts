// The configuration of a child debug session (startDebugging) made from its parent's attach arguments: the same
// secret source by name, never the secret; a secret only in memory shared by id; and what VS Code's configuration
// check (resolveConfiguration, run for child sessions too) says about it.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { childConfiguration, forgetSharedSecret, planAttach, shareSecret } from '../../src/bridge/attach-args.js';
import { resolveConfiguration } from '../../src/bridge/editor.js';

const env = { LR_S: 's3cret' };
const child = { pid: 4242, label: 'rank 1/2' };

test('a child configuration names the process with ?pid= and keeps the secret source, TLS options and the rest', () => {
  const args = {
    type: 'longreach', request: 'attach', name: 'train', __sessionId: 'x', __longreachSecretId: 'y',
    qualifier: 'tcps://gpu:5678?ca=/etc/ca.pem', secretEnv: 'LR_S', fingerprint: 'sha256:' + 'ab'.repeat(32),
    pathMappings: [{ localRoot: '/a', remoteRoot: '/b' }], timeout: 5, justMyCode: false, childSessions: true,
  };
  const config = childConfiguration(args, planAttach(args, { env }), child);
  assert.deepEqual(config, {
    type: 'longreach', request: 'attach', name: 'pid 4242 rank 1/2', qualifier: 'tcps://gpu:5678?pid=4242&ca=/etc/ca.pem',
    secretEnv: 'LR_S', fingerprint: 'sha256:' + 'ab'.repeat(32), pathMappings: [{ localRoot: '/a', remoteRoot: '/b' }], timeout: 5, justMyCode: false,
  });
  const file = { qualifier: 'tcp://h:1', secretFile: '/dev/null/x' };
  assert.throws(() => planAttach(file, { env }), /cannot read the secret file/); // read at attach: the child reads it too
  const none = childConfiguration({ qualifier: 'tcp://h:1' }, planAttach({ qualifier: 'tcp://h:1' }, { env }), { pid: 7, label: '' });
  assert.deepEqual(none, { type: 'longreach', request: 'attach', name: 'pid 7', qualifier: 'tcp://h:1?pid=7' });
});

test('an inline, qualifier or prompted secret is shared by id, and only while the parent holds it', () => {
  for (const args of [{ qualifier: 'tcp://h:1', secret: 's3cret' }, { qualifier: 'tcp://s3cret@h:1' }]) {
    const plan = planAttach(args, { env });
    assert.equal(plan.handOver, 'held');
    const id = shareSecret(plan.secret!);
    const config = childConfiguration(args, plan, child, id);
    assert.ok(!JSON.stringify(config).includes('s3cret'), JSON.stringify(config));
    assert.equal(config.secretFromSession, id);
    assert.equal(planAttach(config, { env }).secret, 's3cret');
    assert.equal(resolveConfiguration(config, env).kind, 'attach'); // VS Code checks the child configuration too
    forgetSharedSecret(id);
    assert.throws(() => planAttach(config, { env }), /"secretFromSession" names no secret this adapter holds/);
    const r = resolveConfiguration(config, env);
    assert.ok(r.kind === 'error' && /the session that opened this child session has ended/.test(r.message));
  }
  const prompted = planAttach({ qualifier: 'tcp://h:1' }, { env, lookupSecret: () => 'typed' });
  assert.equal(prompted.handOver, 'held');
  const file = join(mkdtempSync(join(tmpdir(), 'lr-child-')), 'secret');
  writeFileSync(file, 's3cret\n');
  assert.deepEqual(planAttach({ qualifier: 'tcp://h:1', secretFile: file }, { env }).handOver, { secretFile: file });
});

test('childSessions: false keeps threads; a bad value or a second secret source is an error', () => {
  assert.equal(planAttach({ qualifier: 'tcp://h:1', secretEnv: 'LR_S', childSessions: false }, { env }).childSessions, false);
  assert.equal(planAttach({ qualifier: 'tcp://h:1', secretEnv: 'LR_S' }, { env }).childSessions, true);
  assert.throws(() => planAttach({ qualifier: 'tcp://h:1', childSessions: 1 }, { env }), /"childSessions" must be true or false/);
  assert.throws(() => planAttach({ qualifier: 'tcp://h:1', secretEnv: 'LR_S', secretFromSession: 'ab' }, { env }), /give only one of "secretEnv", "secretFromSession"/);
  assert.throws(() => planAttach({ qualifier: 'tcp://h:1', secretFromSession: '' }, { env }), /"secretFromSession" must be a non-empty string/);
});

// A typo does not lock you out, and a wrong secret is blamed on where it came from (issue 11, items 4 and 5):
// `longreach list` through the built CLI against the Python agent and the Node.js server core.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect } from '../../src/client/index.js';
import { LongreachError } from '../../src/protocol/errors.js';
import { runCli, startAgent } from '../helpers/cli.js';
import { startTestServer } from '../helpers/test-server.js';

function scratch(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lr-cli-secret-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function list(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(['list', ...args], { env: { XDG_CONFIG_HOME: scratch(t), ...env } });
}

test('LR_AUTH_FAILED names where the secret came from: --secret-env, --secret-file, the qualifier', async (t) => {
  const server = await startTestServer(t, { throttleBaseMs: 1 });
  const target = `tcp://127.0.0.1:${server.port}`;
  let r = await list(t, [target, '--secret-env', 'LR_TYPO'], { LR_TYPO: 'not-the-secret' });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /\[LR_AUTH_FAILED\]: secret did not match \(check the environment variable LR_TYPO given to --secret-env\)/);
  assert.doesNotMatch(r.stdout, /before @/);
  const file = join(scratch(t), 'secret');
  writeFileSync(file, 'not-the-secret\n');
  r = await list(t, [target, '--secret-file', file]);
  assert.match(r.stdout, new RegExp(`secret did not match \\(check the file given to --secret-file \\(${file.replace(/[.]/g, '\\.')}\\)\\)`));
  r = await list(t, [`tcp://not-the-secret@127.0.0.1:${server.port}`]);
  assert.match(r.stdout, /secret did not match \(check the part before @ in the qualifier\)/);
  assert.doesNotMatch(r.stdout + r.stderr, /not-the-secret/);
});

test('a typo, then the right secret at once: the CLI waits out the short throttle and says so (Python agent)', async (t) => {
  const agent = await startAgent(t, '-c', { wait: false, args: ['import time; time.sleep(30)'] });
  const target = `tcp://127.0.0.1:${agent.port}`;
  const wrong = await list(t, [target, '--secret-env', 'S'], { S: 'typo' });
  assert.match(wrong.stdout, /LR_AUTH_FAILED/);
  // More typos from this address (the library waits out each short throttle, 0.25 s, 0.5 s, 1 s): the last one
  // leaves a 2 s window, longer than the CLI takes to start even on a loaded machine, so the next try meets it.
  for (let typo = 0; typo < 3; typo++) await assert.rejects(connect(target, { secret: 'typo' }), { code: 'LR_AUTH_FAILED' });
  const right = await list(t, [target, '--secret-env', 'S'], { S: 'cli-secret' });
  assert.equal(right.code, 0, right.stdout + right.stderr);
  assert.match(right.stderr, /too many failed attempts from this address; waiting \d\.\d s before trying again/);
  assert.match(right.stdout, new RegExp(`${agent.child.pid}`));
});

test('a longer throttle still fails, with the time to wait, and without waiting', async (t) => {
  const server = await startTestServer(t, { throttleBaseMs: 5000 });
  const target = `tcp://127.0.0.1:${server.port}`;
  await assert.rejects(connect(target, { secret: 'typo' }), { code: 'LR_AUTH_FAILED' });
  const notices: string[] = [];
  const err = await connect(target, { secret: 's3cret', onNotice: (line) => notices.push(line) }).then(
    () => assert.fail('connected while throttled'),
    (e: unknown) => e as LongreachError,
  );
  assert.equal(err.code, 'LR_THROTTLED');
  assert.match(err.message, /retry in [45]\.\d s/);
  assert.ok(typeof err.details.retryAfterMs === 'number' && err.details.retryAfterMs > 2000, JSON.stringify(err.details));
  assert.deepEqual(notices, []);
});

test('the client library waits out a short throttle from the Node.js server core too', async (t) => {
  const server = await startTestServer(t, { throttleBaseMs: 300 });
  const target = `tcp://127.0.0.1:${server.port}`;
  await assert.rejects(connect(target, { secret: 'typo', secretSource: 'the test\'s typo' }), { code: 'LR_AUTH_FAILED', message: /check the test's typo/ });
  const notices: string[] = [];
  const session = await connect(target, { secret: 's3cret', onNotice: (line) => notices.push(line) });
  session.close();
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /waiting 0\.[1-3] s before trying again/);
});

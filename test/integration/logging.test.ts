// Opt-in logging: off by default, per area, to a file, and never with a secret, proof or nonce in it.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from '../../src/client/connect.js';
import { reloadLogConfig } from '../../src/protocol/log.js';
import { startTestServer } from '../helpers/test-server.js';

function withLog(areas: string | undefined, file: string): () => void {
  const saved = { log: process.env.LONGREACH_LOG, file: process.env.LONGREACH_LOG_FILE };
  if (areas === undefined) delete process.env.LONGREACH_LOG;
  else process.env.LONGREACH_LOG = areas;
  process.env.LONGREACH_LOG_FILE = file;
  reloadLogConfig();
  return () => {
    for (const [key, value] of [['LONGREACH_LOG', saved.log], ['LONGREACH_LOG_FILE', saved.file]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    reloadLogConfig();
  };
}

test('nothing is logged unless LONGREACH_LOG is set', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'lr-log-')), 'off.log');
  t.after(withLog(undefined, file));
  const server = await startTestServer(t, { secret: 'hunter2-secret' });
  (await connect(`tcp://hunter2-secret@127.0.0.1:${server.port}`)).close();
  assert.equal(existsSync(file), false);
});

test('wire and auth logs mark direction and redact the secret, proofs and nonces', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'lr-log-')), 'on.log');
  t.after(withLog('wire,auth', file));
  const server = await startTestServer(t, { secret: 'hunter2-secret', allowPlainSecret: true });
  const session = await connect(`tcp://hunter2-secret@127.0.0.1:${server.port}`);
  await session.request('attach', { secret: 'hunter2-secret' }).catch(() => undefined);
  session.close();
  await assert.rejects(connect(`tcp://wrong-guess@127.0.0.1:${server.port}`), { code: 'LR_AUTH_FAILED' });
  const text = readFileSync(file, 'utf8');
  assert.match(text, / wire -> 127\.0\.0\.1:\d+ \{"type":"request","command":"initialize"/);
  assert.match(text, / wire <- /);
  assert.match(text, / auth authentication from 127\.0\.0\.1:\d+ failed/);
  assert.match(text, /"proof":"\*\*\*"/);
  for (const secretish of ['hunter2-secret', 'wrong-guess']) assert.equal(text.includes(secretish), false, `${secretish} leaked into the log`);
  const nonce = /"nonce":"([^"*]+)"/.exec(text);
  assert.equal(nonce, null, 'nonces are redacted');
});

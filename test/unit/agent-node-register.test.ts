// The launcher's environment parsing (configFromEnv is pure apart from reading the secret file).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configFromEnv } from '../../src/agent-node/register-config.js';

test('LONGREACH_LISTEN forms, secret sources, TLS files and LONGREACH_WAIT', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'longreach-reg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'secret');
  writeFileSync(file, 'from-file\nignored\n');
  assert.deepEqual(configFromEnv({ LONGREACH_LISTEN: '0.0.0.0:5679', LONGREACH_SECRET: 's' }), { options: { secret: 's', host: '0.0.0.0', port: 5679 }, wait: null });
  assert.equal(configFromEnv({ LONGREACH_LISTEN: '[::1]:7000', LONGREACH_SECRET: 's' }).options.host, '::1');
  assert.deepEqual(configFromEnv({ LONGREACH_LISTEN: '6000', LONGREACH_SECRET_FILE: file, LONGREACH_SECRET: 'loses' }).options, { secret: 'from-file', host: '127.0.0.1', port: 6000 });
  assert.equal(configFromEnv({ LONGREACH_NO_SECRET: '1' }).options.secret, null);
  assert.equal(configFromEnv({ LONGREACH_SECRET: 's', LONGREACH_WAIT: '1' }).wait, Infinity);
  assert.equal(configFromEnv({ LONGREACH_SECRET: 's', LONGREACH_WAIT: '2.5' }).wait, 2.5);
  assert.equal(configFromEnv({ LONGREACH_SECRET: 's', LONGREACH_WAIT: '0' }).wait, null);
  const tls = configFromEnv({ LONGREACH_SECRET: 's', LONGREACH_CERTFILE: 'c.pem', LONGREACH_KEYFILE: 'k.pem' }).options;
  assert.equal(tls.certfile, 'c.pem');
  assert.equal(tls.keyfile, 'k.pem');
});

test('bad launcher settings get LR_BAD_OPTION with what to do', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'longreach-reg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const empty = join(dir, 'empty');
  writeFileSync(empty, '');
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{}, /LONGREACH_SECRET_FILE/],
    [{ LONGREACH_SECRET: 's', LONGREACH_LISTEN: 'host-only' }, /\[HOST:\]PORT/],
    [{ LONGREACH_SECRET: 's', LONGREACH_LISTEN: '1.2.3.4:99999' }, /out of range/],
    [{ LONGREACH_SECRET_FILE: join(dir, 'missing') }, /cannot be read \(ENOENT\)/],
    [{ LONGREACH_SECRET_FILE: empty }, /is empty/],
    [{ LONGREACH_SECRET: 's', LONGREACH_WAIT: 'soon' }, /LONGREACH_WAIT/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(() => configFromEnv(env), (err: any) => err.code === 'LR_BAD_OPTION' && pattern.test(err.message), JSON.stringify(env));
  }
});

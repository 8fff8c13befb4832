// The launcher's environment parsing (configFromEnv is pure apart from reading the secret file).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configFromEnv } from '../../src/agent-node/register-config.js';
import { readJson } from '../helpers/paths.js';

interface EnvVectors {
  listen: { value: string; host?: string; port?: number; error?: boolean }[];
  secretFile: { content: string; secret?: string; error?: boolean }[];
}

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

test('the shared environment vectors read as the Python agent reads them (spec/vectors/environment.json)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'longreach-reg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const vectors = readJson<EnvVectors>('spec/vectors/environment.json');
  for (const c of vectors.listen) {
    const env = { LONGREACH_LISTEN: c.value, LONGREACH_SECRET: 's' };
    if (c.error) assert.throws(() => configFromEnv(env), (err: any) => err.code === 'LR_BAD_OPTION' && /LONGREACH_LISTEN/.test(err.message), c.value);
    else assert.deepEqual([configFromEnv(env).options.host, configFromEnv(env).options.port], [c.host, c.port], c.value);
  }
  vectors.secretFile.forEach((c, i) => {
    const file = join(dir, `secret-${i}`);
    writeFileSync(file, c.content);
    const env = { LONGREACH_SECRET_FILE: file };
    if (c.error) assert.throws(() => configFromEnv(env), (err: any) => err.code === 'LR_BAD_OPTION' && /LONGREACH_SECRET_FILE/.test(err.message), JSON.stringify(c.content));
    else assert.equal(configFromEnv(env).options.secret, c.secret, JSON.stringify(c.content));
  });
});

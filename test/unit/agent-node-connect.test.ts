// The Node agent's reverse-connect options: LONGREACH_CONNECT / LONGREACH_CA / LONGREACH_FINGERPRINT and the
// enableAttach({ connect, ca, fingerprint }) checks, each mistake named by its option.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectConfig, parseConnectAddress } from '../../src/agent-node/connect-options.js';
import { configFromEnv } from '../../src/agent-node/register-config.js';
import { LongreachError } from '../../src/protocol/errors.js';

const PIN = `sha256:${'ab'.repeat(32)}`;

test('LONGREACH_CONNECT replaces listening; LONGREACH_CA and LONGREACH_FINGERPRINT pass through', () => {
  assert.deepEqual(configFromEnv({ LONGREACH_CONNECT: 'bastion:5678', LONGREACH_SECRET: 's' }).options, { secret: 's', connect: 'bastion:5678' });
  const tls = configFromEnv({ LONGREACH_CONNECT: '[::1]:7', LONGREACH_SECRET: 's', LONGREACH_FINGERPRINT: PIN, LONGREACH_CA: 'ca.pem' }).options;
  assert.equal(tls.fingerprint, PIN);
  assert.equal(tls.ca, 'ca.pem');
  assert.deepEqual(parseConnectAddress('[::1]:7'), { host: '::1', port: 7 });
  assert.deepEqual(parseConnectAddress({ host: 'h', port: 9 }), { host: 'h', port: 9 });
});

test('connect options are checked eagerly, naming the option', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'longreach-conn-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const notPem = join(dir, 'ca.txt');
  writeFileSync(notPem, 'hello\n');
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ secret: 's', connect: '5678' }, 'LR_BAD_OPTION', /^connect must be HOST:PORT/],
    [{ secret: 's', connect: 'h:0' }, 'LR_BAD_OPTION', /^connect must be HOST:PORT/],
    [{ secret: 's', connect: { host: '', port: 5 } }, 'LR_BAD_OPTION', /^connect\.host/],
    [{ secret: 's', connect: 'h:5', port: 1 }, 'LR_BAD_OPTION', /exclude each other/],
    [{ secret: null, connect: 'h:5' }, 'LR_BAD_OPTION', /^secret is required with connect/],
    [{ secret: 's', fingerprint: PIN }, 'LR_BAD_OPTION', /^fingerprint is for reverse connect only/],
    [{ secret: 's', connect: 'h:5', fingerprint: 'md5:00' }, 'LR_BAD_OPTION', /only SHA-256/],
    [{ secret: 's', connect: 'h:5', ca: join(dir, 'missing.pem') }, 'LR_CERT', /does not exist/],
    [{ secret: 's', connect: 'h:5', ca: notPem }, 'LR_CERT', /does not contain a PEM certificate/],
  ];
  for (const [options, code, pattern] of cases) {
    assert.throws(() => connectConfig(options as never), (err: unknown) => err instanceof LongreachError && err.code === code && pattern.test(err.message), JSON.stringify(options));
  }
  assert.deepEqual(connectConfig({ secret: 's', connect: 'h:5', fingerprint: PIN.toUpperCase().replace('SHA256', 'sha256') }), { host: 'h', port: 5, fingerprint: PIN });
  assert.equal(connectConfig({ secret: 's' }), undefined);
});

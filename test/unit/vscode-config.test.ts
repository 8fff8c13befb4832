// The VS Code extension's configuration logic (src/bridge/editor.ts), without VS Code.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { planAttach } from '../../src/bridge/attach-args.js';
import { certificateQuestion, checkQualifier, INITIAL_CONFIGURATIONS, resolveConfiguration, trustDecision, TRUST_ALWAYS, TRUST_ONCE } from '../../src/bridge/editor.js';
import type { CertificateInfo } from '../../src/protocol/trust.js';

const env = { LR_S: 's3cret' };

test('an empty configuration (F5 without launch.json) runs the process picker', () => {
  assert.deepEqual(resolveConfiguration({}, env), { kind: 'pick' });
  assert.deepEqual(resolveConfiguration({ type: 'longreach', request: 'attach', name: 'x', __configurationTarget: 5 }, env), { kind: 'pick' });
});

test('a good configuration gets type, request and a name with the secret masked', () => {
  const r = resolveConfiguration({ qualifier: 'tcp://s3cret@host:5678' }, env);
  assert.equal(r.kind, 'attach');
  assert.equal(r.kind === 'attach' && r.config.name, 'Longreach: tcp://***@host:5678');
  const named = resolveConfiguration({ type: 'longreach', request: 'attach', name: 'mine', qualifier: 'tcps://h:1', secretEnv: 'LR_S', pathMappings: [{ localRoot: '/a', remoteRoot: '/b' }] }, env);
  assert.equal(named.kind === 'attach' && named.config.name, 'mine');
});

test('every bad configuration is an error message naming the attribute, before anything connects', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ request: 'launch', qualifier: 'tcp://h' }, /only attaches: use "request": "attach"/],
    [{ secretEnv: 'LR_S' }, /"qualifier" is missing/],
    [{ qualifier: 'host:5678' }, /missing tcp:\/\/ or tcps:\/\//],
    [{ qualifier: 42 }, /"qualifier" must be a string/],
    [{ qualifier: 'tcp://h', secretEnv: 'NOPE_UNSET' }, /NOPE_UNSET \("secretEnv"\) is not set/],
    [{ qualifier: 'tcp://h', secretFile: '/nonexistent/secret' }, /cannot read the secret file/],
    [{ qualifier: 'tcp://h', secretEnv: 'LR_S', secretFile: '/x' }, /only one of/],
    [{ qualifier: 'tcp://s@h', secretEnv: 'LR_S' }, /qualifier already carries a secret/],
    [{ qualifier: 'tcp://h', secretEnv: 'LR_S', fingerprint: 'sha256:00' }, /TLS options, but tcp:\/\/h:5678 is plain tcp/],
    [{ qualifier: 'tcps://h', secretEnv: 'LR_S', fingerprint: 'md5:00' }, /only SHA-256 fingerprints/],
    [{ qualifier: 'tcps://h', secretEnv: 'LR_S', insecure: 'yes' }, /"insecure" must be true or false/],
    [{ qualifier: 'tcp://h', secretEnv: 'LR_S', pathMappings: [{ localRoot: '/a' }] }, /"pathMappings\[0\]" must be/],
    [{ qualifier: 'tcp://h', secretEnv: 'LR_S', timeout: -1 }, /"timeout" must be a number of seconds/],
  ];
  for (const [config, pattern] of cases) {
    const r = resolveConfiguration(config, env);
    assert.equal(r.kind, 'error', JSON.stringify(config));
    assert.match(r.kind === 'error' ? r.message : '', pattern);
  }
});

test('the secret sources: file (trailing newline dropped, ~ expanded), env, inline with a warning; none is forwarded', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-vscode-'));
  const file = join(dir, 'secret');
  writeFileSync(file, 'from-file\n');
  const base = { type: 'longreach', request: 'attach', name: 'n', qualifier: 'tcps://h:7', pathMappings: [], redirectOutput: false };
  assert.equal(planAttach({ ...base, secretFile: file }, { env }).secret, 'from-file');
  const fromEnv = planAttach({ ...base, secretEnv: 'LR_S' }, { env });
  assert.equal(fromEnv.secret, 's3cret');
  assert.deepEqual(fromEnv.warnings, []);
  const inline = planAttach({ ...base, secret: 'in-config', fingerprint: 'AB:'.repeat(31) + 'AB' }, { env });
  assert.equal(inline.secret, 'in-config');
  assert.match(inline.warnings[0] ?? '', /prefer "secretFile" or "secretEnv"/);
  assert.equal(inline.fingerprint, `sha256:${'ab'.repeat(32)}`);
  assert.deepEqual(inline.forward, { type: 'longreach', request: 'attach', name: 'n', pathMappings: [], redirectOutput: false });
  assert.equal(planAttach({ ...base }, { env, lookupSecret: () => 'prompted' }).secret, 'prompted');
  assert.equal(planAttach({ ...base }, { env }).secret, null);
});

test('the launch.json starting configuration resolves once its placeholders are filled in', () => {
  const config = { ...INITIAL_CONFIGURATIONS[0]!, qualifier: 'tcps://gpu-vm:5678', secretFile: undefined, secretEnv: 'LR_S', fingerprint: `sha256:${'0'.repeat(64)}` };
  assert.equal(resolveConfiguration(config, env).kind, 'attach');
});

test('the qualifier input box accepts ranges and explains bad input', () => {
  assert.equal(checkQualifier('tcp://host:5678-5690'), undefined);
  assert.match(checkQualifier('tcp://host:99999') ?? '', /expected tcp:\/\//);
});

test('the untrusted-certificate modal shows subject and SHA-256 fingerprint; choices map to trust decisions', () => {
  const info: CertificateInfo = {
    host: '10.0.0.7', port: 5678, subject: 'CN=gpu-vm', issuer: 'CN=gpu-vm', selfSigned: true, subjectAltName: 'DNS:gpu-vm',
    validFrom: new Date('2026-01-01T00:00:00Z'), validTo: new Date('2027-01-01T00:00:00Z'),
    fingerprint: `sha256:${'ab'.repeat(32)}`, fingerprintDisplay: Array(32).fill('AB').join(':'), caProblem: 'it is self-signed and not in the trusted CA list',
  };
  const q = certificateQuestion(info);
  assert.equal(q.message, 'The certificate of 10.0.0.7:5678 is not trusted');
  assert.match(q.detail, /Subject: CN=gpu-vm/);
  assert.match(q.detail, /SHA-256 fingerprint: AB:AB:/);
  assert.match(q.detail, /self-signed/);
  assert.deepEqual(q.choices, [TRUST_ONCE, TRUST_ALWAYS]);
  assert.equal(trustDecision(TRUST_ONCE), 'once');
  assert.equal(trustDecision(TRUST_ALWAYS), 'always');
  assert.equal(trustDecision(undefined), 'abort');
});

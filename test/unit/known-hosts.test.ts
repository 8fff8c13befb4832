import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  addKnownHost,
  defaultKnownHostsPath,
  hostPortKey,
  lookupKnownHost,
  parseKnownHosts,
  resolveKnownHostsPath,
} from '../../src/protocol/known-hosts.js';
import { tempDir } from '../helpers/tls-fixtures.js';

const FP_A = `sha256:${'a1'.repeat(32)}`;
const FP_B = `sha256:${'b2'.repeat(32)}`;

test('where the store lives (protocol.md section 6)', () => {
  const home = '/home/ann';
  assert.equal(defaultKnownHostsPath({ env: {}, platform: 'linux', home }), '/home/ann/.config/longreach/known_hosts');
  assert.equal(defaultKnownHostsPath({ env: {}, platform: 'darwin', home }), '/home/ann/.config/longreach/known_hosts');
  assert.equal(defaultKnownHostsPath({ env: { XDG_CONFIG_HOME: '/xdg' }, platform: 'linux', home }), '/xdg/longreach/known_hosts');
  assert.equal(
    defaultKnownHostsPath({ env: { XDG_CONFIG_HOME: 'relative/dir' }, platform: 'linux', home }),
    '/home/ann/.config/longreach/known_hosts',
    'a relative XDG_CONFIG_HOME is ignored, as the XDG spec says',
  );
  assert.equal(
    defaultKnownHostsPath({ env: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, platform: 'win32', home: 'C:\\Users\\ann' }),
    'C:\\Users\\ann\\AppData\\Roaming\\longreach\\known_hosts',
  );
  assert.equal(
    defaultKnownHostsPath({ env: {}, platform: 'win32', home: 'C:\\Users\\ann' }),
    'C:\\Users\\ann\\AppData\\Roaming\\longreach\\known_hosts',
  );
  assert.equal(
    defaultKnownHostsPath({ env: { LONGREACH_KNOWN_HOSTS: '/tmp/kh', XDG_CONFIG_HOME: '/xdg' }, platform: 'linux', home }),
    '/tmp/kh',
  );
  assert.equal(resolveKnownHostsPath('/explicit/kh'), '/explicit/kh');
});

test('hostPortKey: lower-case names, bracketed IPv6', () => {
  assert.equal(hostPortKey('MyHost.Example.COM', 5678), 'myhost.example.com:5678');
  assert.equal(hostPortKey('10.0.0.7', 1), '10.0.0.7:1');
  assert.equal(hostPortKey('::1', 5678), '[::1]:5678');
  assert.equal(hostPortKey('[::1]', 5678), '[::1]:5678');
  assert.equal(hostPortKey('FE80::1', 5678), '[fe80::1]:5678');
});

test('parseKnownHosts keeps good lines and skips comments, blanks and bad lines', () => {
  const text = [
    '# Longreach known hosts',
    '',
    `myhost:5678 ${FP_A}`,
    `   [::1]:5678    ${FP_B}   `,
    `MIXED.case:80 SHA256:${'C3'.repeat(32)}\r`,
    'garbage line',
    `nohostport ${FP_A}`,
    `host:0 ${FP_A}`,
    `host:99999 ${FP_A}`,
    `host:5678 sha256:tooshort`,
    `host:5678`,
    `host:5678 ${FP_A} trailing`,
    `::1:5678 ${FP_A}`,
  ].join('\n');
  assert.deepEqual(parseKnownHosts(text), [
    { hostPort: 'myhost:5678', fingerprint: FP_A },
    { hostPort: '[::1]:5678', fingerprint: FP_B },
    { hostPort: 'mixed.case:80', fingerprint: `sha256:${'c3'.repeat(32)}` },
  ]);
});

test('lookup in a missing file finds nothing; add creates the file and its directory', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'config', 'longreach', 'known_hosts');
  assert.deepEqual(await lookupKnownHost(path, 'myhost', 5678), []);
  await addKnownHost(path, 'MyHost', 5678, FP_A.toUpperCase().replace('SHA256', 'sha256'));
  assert.equal(readFileSync(path, 'utf8'), `myhost:5678 ${FP_A}\n`);
  assert.deepEqual(await lookupKnownHost(path, 'myhost', 5678), [FP_A]);
  assert.deepEqual(await lookupKnownHost(path, 'myhost', 5679), [], 'the port is part of the key');
  await addKnownHost(path, '::1', 5678, FP_B);
  assert.deepEqual(await lookupKnownHost(path, '[::1]', 5678), [FP_B]);
  await addKnownHost(path, 'myhost', 5678, FP_A); // already there: no duplicate line
  assert.equal(readFileSync(path, 'utf8'), `myhost:5678 ${FP_A}\n[::1]:5678 ${FP_B}\n`);
  assert.deepEqual(readdirSync(join(dir, 'config', 'longreach')), ['known_hosts'], 'no temporary files left behind');
});

test('add keeps comments and bad lines, and mends a missing final newline', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'known_hosts');
  writeFileSync(path, `# mine\nnot a valid line\nother:1 ${FP_B}`);
  await addKnownHost(path, 'myhost', 5678, FP_A);
  assert.equal(readFileSync(path, 'utf8'), `# mine\nnot a valid line\nother:1 ${FP_B}\nmyhost:5678 ${FP_A}\n`);
  await addKnownHost(path, 'myhost', 5678, FP_B); // a second certificate for the same host (e.g. a rollover)
  assert.deepEqual(await lookupKnownHost(path, 'myhost', 5678), [FP_A, FP_B]);
});

test('bad fingerprints and unusable store paths are clear errors', async (t) => {
  const dir = tempDir(t);
  await assert.rejects(addKnownHost(join(dir, 'kh'), 'h', 1, 'sha256:nope'), { code: 'LR_BAD_OPTION', message: /not a SHA-256 fingerprint/ });
  mkdirSync(join(dir, 'a-directory'));
  await assert.rejects(lookupKnownHost(join(dir, 'a-directory'), 'h', 1), {
    code: 'LR_BAD_OPTION',
    message: /cannot read the known_hosts file .*a-directory \(EISDIR\); fix its permissions or set LONGREACH_KNOWN_HOSTS/,
  });
  writeFileSync(join(dir, 'file'), '');
  await assert.rejects(addKnownHost(join(dir, 'file', 'known_hosts'), 'h', 1, FP_A), {
    code: 'LR_BAD_OPTION',
    message: /cannot write the known_hosts file .*file[/\\]known_hosts/,
  });
});

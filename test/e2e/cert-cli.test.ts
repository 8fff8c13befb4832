// `longreach cert create`, in-process (certCommand) and as the built command (dist/src/cli/bin.js).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { certCommand } from '../../src/cli/commands/cert.js';
import { fingerprintOf, loadServerTls } from '../../src/protocol/tls.js';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tls-fixtures.js';

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await certCommand(argv, { stdout, stderr });
  return { code, stdout: out, stderr: err };
}

test('cert create writes cert.pem and key.pem (0600) and prints the fingerprint, the qualifier and the agent command', async (t) => {
  const dir = join(tempDir(t), 'tls dir');
  const { code, stdout, stderr } = await run(['create', '--host', 'myhost.example.com', '--host', '10.0.0.7,::1', '--out', dir, '--days', '30']);
  assert.equal(code, 0, stderr);
  assert.equal(stderr, '');
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (process.platform !== 'win32') {
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(certFile).mode & 0o777, 0o644);
  }
  const cert = new X509Certificate(readFileSync(certFile));
  const fingerprint = fingerprintOf(cert.raw);
  assert.equal(cert.checkHost('myhost.example.com'), 'myhost.example.com');
  assert.equal(cert.checkIP('10.0.0.7'), '10.0.0.7');
  assert.equal(cert.checkIP('::1'), '::1');
  assert.equal(loadServerTls({ certFile, keyFile }).fingerprint, fingerprint, 'the pair is usable by a server');
  assert.ok(stdout.includes(`Fingerprint: ${fingerprint}\n`), stdout);
  assert.ok(stdout.includes(`  tcps://SECRET@myhost.example.com:5678?fingerprint=${fingerprint}\n`), stdout);
  assert.ok(
    stdout.includes(`  python -m longreach --listen 0.0.0.0:5678 --secret-env LONGREACH_SECRET --certfile '${certFile}' --keyfile '${keyFile}' script.py\n`),
    stdout,
  );
  assert.match(stdout, /Hosts: +myhost\.example\.com, 10\.0\.0\.7, ::1\n/);

  // Existing files are kept unless --force.
  const again = await run(['create', '--out', dir]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^longreach: error \[LR_CERT\]: .*cert\.pem already exists; refusing to overwrite it \(pass --force/);
  assert.equal(fingerprintOf(new X509Certificate(readFileSync(certFile)).raw), fingerprint);
  const forced = await run(['create', '--out', dir, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  assert.notEqual(fingerprintOf(new X509Certificate(readFileSync(certFile)).raw), fingerprint);
  assert.ok(forced.stdout.includes('tcps://SECRET@localhost:5678?fingerprint=sha256:'), 'default hosts: localhost first');
});

test('an IPv6 first host is bracketed in the qualifier', async (t) => {
  const dir = tempDir(t);
  const { code, stdout } = await run(['create', '--host=::1', `--out=${dir}`]);
  assert.equal(code, 0);
  assert.match(stdout, /tcps:\/\/SECRET@\[::1\]:5678\?fingerprint=sha256:[0-9a-f]{64}\n/);
});

test('bad usage: exit 2 with a clear message and the usage, and nothing written', async (t) => {
  const dir = tempDir(t);
  const cases: Array<[string[], RegExp]> = [
    [[], /say what to do: longreach cert create/],
    [['destroy'], /unknown cert command "destroy"; the only one is: longreach cert create/],
    [['create', '--bogus'], /Unknown option '--bogus'/],
    [['create', '--days', 'abc', '--out', dir], /--days must be a whole number from 1 to 3650, got "abc"/],
    [['create', '--days', '0', '--out', dir], /--days must be a whole number/],
    [['create', '--days', '99999', '--out', dir], /--days must be a whole number/],
    [['create', '--days', '1e3', '--out', dir], /--days must be a whole number/],
    [['create', '--host', 'bad host!', '--out', dir], /host "bad host!" is not a DNS name or an IP address; expected e\.g\. --host/],
    [['create', '--host', 'a,,b', '--out', dir], /--host needs a DNS name or an IP address/],
    [['create', '--host'], /argument missing|requires? .*argument/i],
    [['create', 'myhost', '--out', dir], /unexpected argument "myhost"; give host names with --host NAME/],
    [['create', '--out', ''], /--out needs a directory/],
  ];
  for (const [argv, message] of cases) {
    const { code, stdout, stderr } = await run(argv);
    assert.equal(code, 2, `${argv.join(' ')}: ${stderr}`);
    assert.equal(stdout, '');
    assert.match(stderr, message, argv.join(' '));
    if (!stderr.includes('[LR_BAD_OPTION]')) assert.match(stderr, /usage: longreach cert create/);
  }
  assert.equal(existsSync(join(dir, 'cert.pem')), false);
  assert.equal(existsSync(join(dir, 'key.pem')), false);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: longreach cert create \[--host NAME \.\.\.\] \[--out DIR\] \[--days N\] \[--force\]/);
});

test('the built command: longreach cert create', async (t) => {
  const bin = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
  const dir = tempDir(t);
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'cert', 'create', '--host', '127.0.0.1', '--out', dir], { timeout: 30_000 });
  const fingerprint = fingerprintOf(new X509Certificate(readFileSync(join(dir, 'cert.pem'))).raw);
  assert.ok(stdout.includes(`tcps://SECRET@127.0.0.1:5678?fingerprint=${fingerprint}`), stdout);
  if (process.platform !== 'win32') assert.equal(statSync(join(dir, 'key.pem')).mode & 0o777, 0o600);
});

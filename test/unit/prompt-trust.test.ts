import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { describeCertificate, parseTrustAnswer, promptTrust, trustDecider } from '../../src/cli/prompt-trust.js';
import type { CertificateInfo } from '../../src/protocol/trust.js';

const FP = `sha256:${'ab'.repeat(32)}`;
const INFO: CertificateInfo = {
  host: '10.0.0.7',
  port: 5678,
  subject: 'CN=gpu-vm-1, O=Longreach self-signed',
  issuer: 'CN=gpu-vm-1, O=Longreach self-signed',
  selfSigned: true,
  subjectAltName: 'DNS:gpu-vm-1, IP Address:10.0.0.7',
  validFrom: new Date('2026-01-01T00:00:00Z'),
  validTo: new Date('2027-01-01T00:00:00Z'),
  fingerprint: FP,
  fingerprintDisplay: Array(32).fill('AB').join(':'),
  caProblem: 'it is self-signed and not in the trusted CA list',
};

async function ask(input: string, end = true): Promise<{ decision: string; shown: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let shown = '';
  stdout.on('data', (c: Buffer) => (shown += c.toString()));
  const pending = promptTrust(INFO, { input: stdin, output: stdout });
  stdin.write(input);
  if (end) stdin.end();
  return { decision: await pending, shown };
}

test('shows subject, validity and fingerprint, then asks', async () => {
  const { decision, shown } = await ask('o\n', false);
  assert.equal(decision, 'once');
  assert.equal(
    shown,
    [
      'The certificate of 10.0.0.7:5678 is not trusted yet: it is self-signed and not in the trusted CA list.',
      '  subject:     CN=gpu-vm-1, O=Longreach self-signed',
      '  issuer:      (self-signed)',
      '  names:       DNS:gpu-vm-1, IP Address:10.0.0.7',
      '  valid:       2026-01-01 00:00 UTC to 2027-01-01 00:00 UTC',
      `  fingerprint: ${FP}`,
      `               ${INFO.fingerprintDisplay}`,
      'Compare the fingerprint with the one `longreach cert create` printed for the server',
      '(or: openssl x509 -in cert.pem -noout -fingerprint -sha256).',
      'Trust once [o], always [a], or abort [N]? ',
    ].join('\n'),
  );
});

test('answers: once, always, abort by default, at the end of input, or after three wrong answers', async () => {
  assert.equal((await ask('always\n')).decision, 'always');
  assert.equal((await ask('A\r\n')).decision, 'always');
  assert.equal((await ask('\n')).decision, 'abort');
  assert.equal((await ask('N\n')).decision, 'abort');
  assert.equal((await ask('')).decision, 'abort', 'Ctrl-D');
  const retried = await ask('yes\na\n');
  assert.equal(retried.decision, 'always');
  assert.match(retried.shown, /Please answer o \(trust once\), a \(trust always\) or n \(abort\)\. Trust once \[o\]/);
  assert.equal((await ask('y\nyes\nsure\na\n')).decision, 'abort');
  assert.equal(parseTrustAnswer(' Once '), 'once');
  assert.equal(parseTrustAnswer('maybe'), undefined);
});

test('expired and not-yet-valid certificates say so; IPv6 hosts are bracketed', () => {
  const text = describeCertificate({ ...INFO, host: '::1' }, new Date('2028-01-01T00:00:00Z'));
  assert.match(text, /^The certificate of \[::1\]:5678 /);
  assert.match(text, /\(EXPIRED\)/);
  assert.match(describeCertificate(INFO, new Date('2025-01-01T00:00:00Z')), /NOT VALID YET/);
  assert.doesNotMatch(describeCertificate({ ...INFO, selfSigned: false, issuer: 'CN=Corp CA' }, new Date('2026-06-01T00:00:00Z')), /EXPIRED|NOT VALID|self-signed\)/);
});

test('trustDecider only when stdin and stderr are terminals', async () => {
  const tty = Object.assign(new PassThrough(), { isTTY: true });
  const err = Object.assign(new PassThrough(), { isTTY: true });
  assert.equal(trustDecider({ stdin: new PassThrough(), stderr: err }), undefined);
  assert.equal(trustDecider({ stdin: tty, stderr: new PassThrough() }), undefined);
  const decide = trustDecider({ stdin: tty, stderr: err });
  assert.ok(decide);
  let shown = '';
  err.on('data', (c: Buffer) => (shown += c.toString()));
  const pending = decide(INFO);
  tty.end('a\n');
  assert.equal(await pending, 'always');
  assert.match(shown, /Trust once \[o\], always \[a\], or abort \[N\]\?/);
});

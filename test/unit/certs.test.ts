import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createSelfSignedCertificate, writeCertificateFiles } from '../../src/protocol/certs.js';
import { tempDir } from '../helpers/tls-fixtures.js';

test('the default certificate: P-256, SHA-256, localhost and loopback addresses, server-only', async () => {
  const created = await createSelfSignedCertificate();
  const cert = new X509Certificate(created.certPem);
  assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
  assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.match(cert.subjectAltName ?? '', /IP Address:0:0:0:0:0:0:0:1/);
  assert.equal(cert.checkHost('localhost'), 'localhost');
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(cert.checkIP('::1'), '::1');
  assert.equal(cert.ca, false);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']); // extKeyUsage serverAuth
  assert.equal(cert.subject, cert.issuer);
  assert.ok(cert.verify(cert.publicKey), 'self-signed signature verifies');

  const parsed = new x509.X509Certificate(created.certPem);
  const signature = parsed.signatureAlgorithm as unknown as { name: string; hash?: { name: string } };
  assert.equal(signature.name, 'ECDSA');
  assert.equal(signature.hash?.name, 'SHA-256');
  const basic = parsed.getExtension(x509.BasicConstraintsExtension);
  assert.equal(basic?.ca, false);
  assert.equal(basic?.critical, true);
  assert.equal(parsed.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);

  assert.match(created.keyPem, /^-----BEGIN PRIVATE KEY-----\n/); // PKCS#8
  const key = createPrivateKey(created.keyPem);
  assert.equal(key.asymmetricKeyType, 'ec');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(cert.checkPrivateKey(key));

  assert.equal(created.fingerprint, `sha256:${createHash('sha256').update(cert.raw).digest('hex')}`);
  assert.deepEqual(created.hosts, ['localhost', '127.0.0.1', '::1']);
  const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 364.9 && days <= 365, `valid for 365 days, got ${days}`);
  assert.ok(new Date(cert.validFrom).getTime() < Date.now(), 'valid already (small clock skew allowed)');
});

test('custom hosts (names, IPv4, bracketed IPv6, wildcard) and days', async () => {
  const created = await createSelfSignedCertificate({ hosts: ['My-Host.example.com', '10.0.0.7', '[fe80::1]', '*.svc.example.com'], days: 30 });
  const cert = new X509Certificate(created.certPem);
  assert.equal(cert.checkHost('my-host.example.com'), 'my-host.example.com');
  assert.equal(cert.checkIP('10.0.0.7'), '10.0.0.7');
  assert.equal(cert.checkIP('fe80::1'), 'fe80::1');
  assert.ok(cert.checkHost('api.svc.example.com'));
  assert.match(cert.subject, /CN=my-host\.example\.com/);
  const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30);
  const again = await createSelfSignedCertificate({ hosts: ['10.0.0.7'] });
  assert.notEqual(again.fingerprint, created.fingerprint);
  assert.notEqual(new X509Certificate(again.certPem).serialNumber, cert.serialNumber);
});

test('bad hosts and days are refused with the option named', async () => {
  for (const host of ['bad host', 'under_score.com', '-lead.example', 'a..b', 'x'.repeat(64) + '.com', '*.com', 'ex*.com', '']) {
    await assert.rejects(createSelfSignedCertificate({ hosts: [host] }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'LR_BAD_OPTION');
      assert.match(err.message, /is not a DNS name or an IP address; expected e\.g\. --host/);
      return true;
    }, `host ${JSON.stringify(host)}`);
  }
  for (const days of [0, -1, 1.5, 3651, Number.NaN]) {
    await assert.rejects(createSelfSignedCertificate({ days }), { code: 'LR_BAD_OPTION', message: /days must be a whole number from 1 to 3650/ });
  }
});

test('writeCertificateFiles: key 0600, cert 0644 whatever the umask; never overwrites without force', async (t) => {
  const dir = tempDir(t);
  const created = await createSelfSignedCertificate();
  const before = process.umask(0o000);
  t.after(() => process.umask(before));
  const out = join(dir, 'nested', 'tls');
  const files = await writeCertificateFiles(out, created);
  assert.equal(files.certPath, join(out, 'cert.pem'));
  assert.equal(files.keyPath, join(out, 'key.pem'));
  assert.equal(readFileSync(files.certPath, 'utf8'), created.certPem);
  assert.equal(readFileSync(files.keyPath, 'utf8'), created.keyPem);
  if (process.platform !== 'win32') {
    assert.equal(statSync(files.keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(files.certPath).mode & 0o777, 0o644);
  }

  const other = await createSelfSignedCertificate();
  await assert.rejects(writeCertificateFiles(out, other), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'LR_CERT');
    assert.match(err.message, /cert\.pem already exists; refusing to overwrite it \(pass --force/);
    return true;
  });
  assert.equal(readFileSync(files.keyPath, 'utf8'), created.keyPem, 'the old key is untouched');

  process.umask(0o077);
  await writeCertificateFiles(out, other, { force: true });
  assert.equal(readFileSync(files.keyPath, 'utf8'), other.keyPem);
  if (process.platform !== 'win32') {
    assert.equal(statSync(files.keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(files.certPath).mode & 0o777, 0o644);
  }
});

test('writeCertificateFiles refuses when only the key is left over', async (t) => {
  const dir = tempDir(t);
  const created = await createSelfSignedCertificate();
  writeFileSync(join(dir, 'key.pem'), 'old key');
  await assert.rejects(writeCertificateFiles(dir, created), { code: 'LR_CERT', message: /key\.pem already exists/ });
  assert.equal(readFileSync(join(dir, 'key.pem'), 'utf8'), 'old key');
});

test('writeCertificateFiles into a path that is a file: LR_CERT naming the directory', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'plain-file');
  writeFileSync(file, 'x');
  await assert.rejects(writeCertificateFiles(join(file, 'sub'), await createSelfSignedCertificate()), {
    code: 'LR_CERT',
    message: /could not write the certificate files in .*plain-file.*choose another --out directory/,
  });
});

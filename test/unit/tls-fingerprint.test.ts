import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tls from 'node:tls';
import { createSelfSignedCertificate } from '../../src/protocol/certs.js';
import {
  clientTlsOptions,
  displayFingerprint,
  fingerprintOf,
  loadServerTls,
  looksLikeTlsRecord,
  parseFingerprint,
  readCaFile,
  serverTlsFromPem,
} from '../../src/protocol/tls.js';
import { tempDir, writeTemp } from '../helpers/tls-fixtures.js';

const HEX = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'; // SHA-256 of "abc"
const COLONS = HEX.toUpperCase().match(/../g)!.join(':');

test('fingerprintOf: sha256: and lowercase hex of the DER bytes; display form with colons', () => {
  assert.equal(fingerprintOf(Buffer.from('abc')), `sha256:${HEX}`);
  assert.equal(displayFingerprint(`sha256:${HEX}`), COLONS);
});

test('parseFingerprint accepts every way people write a SHA-256 fingerprint', () => {
  const expected = `sha256:${HEX}`;
  for (const input of [
    `sha256:${HEX}`,
    `SHA256:${HEX.toUpperCase()}`,
    `sha256:${COLONS}`,
    `sha256:${COLONS.toLowerCase()}`,
    `SHA-256:${COLONS}`,
    HEX,
    HEX.toUpperCase(),
    COLONS,
    `  ${HEX}\n`,
  ]) {
    assert.equal(parseFingerprint(input), expected, input);
  }
});

test('parseFingerprint refuses anything else with the expected shape, as the caller chooses', () => {
  const bad = [
    '',
    'sha256:',
    HEX.slice(2),
    `${HEX}00`,
    `sha256:${HEX.slice(1)}g`,
    `sha256:${COLONS.slice(0, -3)}`,
    `${HEX.slice(0, 10)}:${HEX.slice(10)}`, // colons in odd places
    `sha256:${HEX} extra`,
    `md5:${HEX.slice(0, 32)}`,
    `sha1:${HEX.slice(0, 40)}`,
    'SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0', // OpenSSH base64 style
  ];
  for (const input of bad) {
    assert.throws(() => parseFingerprint(input), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'LR_BAD_QUALIFIER', input);
      assert.match(err.message, /sha256: followed by 64 hex digits, colons optional/);
      return true;
    });
  }
  assert.throws(() => parseFingerprint('sha1:abcd', 'LR_BAD_OPTION'), { code: 'LR_BAD_OPTION', message: /uses sha1; only SHA-256/ });
});

test('looksLikeTlsRecord tells TLS bytes from Longreach framing', () => {
  assert.equal(looksLikeTlsRecord(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), true); // ClientHello
  assert.equal(looksLikeTlsRecord(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46])), true); // alert
  assert.equal(looksLikeTlsRecord(Buffer.from([0x16])), true);
  assert.equal(looksLikeTlsRecord(Buffer.from('Content-Length: 12\r\n\r\n')), false);
  assert.equal(looksLikeTlsRecord(Buffer.from([0x16, 0x04])), false);
  assert.equal(looksLikeTlsRecord(Buffer.alloc(0)), false);
});

test('clientTlsOptions: TLS 1.2+, verification left to trust.ts, SNI only for names, extra CA added to the defaults', () => {
  const byName = clientTlsOptions({ host: 'myhost', port: 5678 });
  assert.equal(byName.minVersion, 'TLSv1.2');
  assert.equal(byName.rejectUnauthorized, false);
  assert.equal(byName.servername, 'myhost');
  assert.equal(byName.ca, undefined, 'no ca option: Node uses its default store');
  const byIp = clientTlsOptions({ host: '[::1]', port: 5678 });
  assert.equal(byIp.host, '::1');
  assert.equal(byIp.servername, undefined);
  const withCa = clientTlsOptions({ host: '127.0.0.1', port: 1, caPem: 'PEM' });
  assert.ok(Array.isArray(withCa.ca));
  const cas = withCa.ca as string[];
  assert.equal(cas.at(-1), 'PEM');
  assert.ok(cas.length > 50, 'the system/bundled roots are kept');
  assert.ok(cas.includes(tls.rootCertificates[0]!));
});

test('loadServerTls: good files give TLS 1.2+ options and the fingerprint clients will see', async (t) => {
  const dir = tempDir(t);
  const created = await createSelfSignedCertificate();
  const certFile = writeTemp(dir, 'cert.pem', created.certPem);
  const keyFile = writeTemp(dir, 'key.pem', created.keyPem);
  const loaded = loadServerTls({ certFile, keyFile });
  assert.equal(loaded.options.minVersion, 'TLSv1.2');
  assert.equal(loaded.fingerprint, created.fingerprint);
  assert.equal(loaded.validTo.getTime(), new Date(new X509Certificate(created.certPem).validTo).getTime());
});

test('loadServerTls: every bad file is LR_CERT naming the file and what to do', async (t) => {
  const dir = tempDir(t);
  const a = await createSelfSignedCertificate();
  const b = await createSelfSignedCertificate();
  const certFile = writeTemp(dir, 'cert.pem', a.certPem);
  const keyFile = writeTemp(dir, 'key.pem', a.keyPem);
  const otherKey = writeTemp(dir, 'other-key.pem', b.keyPem);
  const garbage = writeTemp(dir, 'garbage.pem', 'hello\n');
  const damaged = writeTemp(dir, 'damaged.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  const encrypted = writeTemp(
    dir,
    'encrypted.pem',
    generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    }).privateKey,
  );
  const missing = join(dir, 'missing.pem');

  const cases: Array<[{ certFile: string; keyFile: string }, RegExp, string]> = [
    [{ certFile: missing, keyFile }, /certificate file .*missing\.pem does not exist; create one with `longreach cert create --out DIR`/, missing],
    [{ certFile, keyFile: missing }, /key file .*missing\.pem does not exist; pass the key file/, missing],
    [{ certFile: dir, keyFile }, /certificate file .* cannot be read \(EISDIR\)/, dir],
    [{ certFile: keyFile, keyFile: certFile }, /holds a private key, not a certificate; did you swap/, keyFile],
    [{ certFile: garbage, keyFile }, /does not contain a PEM certificate/, garbage],
    [{ certFile: damaged, keyFile }, /holds a damaged certificate/, damaged],
    [{ certFile, keyFile: garbage }, /does not contain a PEM private key/, garbage],
    [{ certFile, keyFile: encrypted }, /is encrypted with a passphrase; Longreach needs an unencrypted key/, encrypted],
    [{ certFile, keyFile: otherKey }, /other-key\.pem is not the private key of .*cert\.pem/, otherKey],
  ];
  for (const [files, message, path] of cases) {
    assert.throws(() => loadServerTls(files), (err: Error & { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(err.code, 'LR_CERT');
      assert.match(err.message, message);
      assert.equal(err.details?.['path'], path);
      return true;
    });
  }
  assert.throws(() => serverTlsFromPem({ cert: a.certPem, key: b.keyPem }), { code: 'LR_CERT', message: /the key is not the private key of the certificate/ });
});

test('readCaFile: missing or certificate-less files are LR_CERT naming the ca= option', async (t) => {
  const dir = tempDir(t);
  const created = await createSelfSignedCertificate();
  assert.equal(readCaFile(writeTemp(dir, 'ca.pem', created.certPem)), created.certPem);
  assert.throws(() => readCaFile(join(dir, 'nope.pem')), { code: 'LR_CERT', message: /CA file .*nope\.pem does not exist; check the ca= option/ });
  assert.throws(() => readCaFile(writeTemp(dir, 'k.pem', created.keyPem)), { code: 'LR_CERT', message: /does not contain a PEM certificate/ });
});

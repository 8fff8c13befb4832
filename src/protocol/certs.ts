// Self-signed server certificates for `tcps://` agents, made with @peculiar/x509 on WebCrypto
// (ECDSA P-256, SHA-256). No OpenSSL binary is needed, so this works the same on Windows, macOS and Linux.
// The result is accepted by node:tls and by Python's ssl module (load_cert_chain).

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, mkdir, open, stat, unlink } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { LongreachError } from './errors.js';
import { fingerprintOf } from './tls.js';

export const DEFAULT_CERT_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
export const DEFAULT_CERT_DAYS = 365;
export const MAX_CERT_DAYS = 3650;

export interface CreateCertificateOptions {
  /** DNS names and IP addresses the certificate is for (subjectAltName). Default: localhost, 127.0.0.1, ::1. */
  hosts?: readonly string[];
  /** Validity in days from now, 1–3650. Default 365. */
  days?: number;
}

export interface CreatedCertificate {
  certPem: string;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"). Keep it secret. */
  keyPem: string;
  /** `sha256:` + 64 lowercase hex digits of the certificate's DER bytes. */
  fingerprint: string;
  hosts: string[];
  validFrom: Date;
  validTo: Date;
}

export interface WrittenCertificateFiles {
  certPath: string;
  keyPath: string;
}

const crypto = webcrypto;
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** Returns the host as it goes into subjectAltName, or throws LR_BAD_OPTION naming the bad value. */
export function normaliseCertHost(host: string): { type: 'dns' | 'ip'; value: string } {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) return { type: 'ip', value: bare };
  const name = bare.endsWith('.') ? bare.slice(0, -1) : bare;
  const labels = name.split('.');
  const ok =
    name.length > 0 &&
    name.length <= 253 &&
    labels.every((label, i) => (i === 0 && label === '*' && labels.length > 2) || DNS_LABEL.test(label));
  if (!ok) {
    throw new LongreachError(
      'LR_BAD_OPTION',
      `host ${JSON.stringify(host)} is not a DNS name or an IP address; ` +
        'expected e.g. --host myhost.example.com, --host 10.0.0.7 or --host ::1',
    );
  }
  return { type: 'dns', value: name.toLowerCase() };
}

function checkDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_CERT_DAYS) {
    throw new LongreachError(
      'LR_BAD_OPTION',
      `days must be a whole number from 1 to ${MAX_CERT_DAYS}, got ${JSON.stringify(days)}`,
    );
  }
  return days;
}

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01; // positive and exactly 16 bytes
  return Buffer.from(bytes).toString('hex');
}

/** Makes a self-signed ECDSA P-256 server certificate and its private key. */
export async function createSelfSignedCertificate(options: CreateCertificateOptions = {}): Promise<CreatedCertificate> {
  const hostList = options.hosts === undefined || options.hosts.length === 0 ? DEFAULT_CERT_HOSTS : options.hosts;
  const names = hostList.map(normaliseCertHost);
  const unique = names.filter((n, i) => names.findIndex((m) => m.type === n.type && m.value === n.value) === i);
  const days = checkDays(options.days ?? DEFAULT_CERT_DAYS);

  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const validFrom = new Date(Math.floor((now - 5 * 60_000) / 1000) * 1000); // tolerate small clock skew
  const validTo = new Date(Math.floor((now + days * 86_400_000) / 1000) * 1000);
  const first = unique[0]?.value ?? 'localhost';
  const commonName = first.length <= 64 ? first : 'longreach';

  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: [{ CN: [commonName] }, { O: ['Longreach self-signed'] }],
      notBefore: validFrom,
      notAfter: validTo,
      keys,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(unique, false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const keyDer = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    certPem: toPem('CERTIFICATE', cert.rawData),
    keyPem: toPem('PRIVATE KEY', keyDer),
    fingerprint: fingerprintOf(new Uint8Array(cert.rawData)),
    hosts: unique.map((n) => n.value),
    validFrom,
    validTo,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

async function writeExclusive(path: string, text: string, mode: number): Promise<void> {
  const handle = await open(path, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode);
  try {
    await handle.chmod(mode); // the umask applies to open(); make the mode exact
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `cert.pem` (mode 0644) and `key.pem` (mode 0600) into `outDir`, creating the directory if needed.
 * Refuses (LR_CERT) to replace existing files unless `force` is set. File modes are not enforced on Windows.
 */
export async function writeCertificateFiles(
  outDir: string,
  created: Pick<CreatedCertificate, 'certPem' | 'keyPem'>,
  options: { force?: boolean } = {},
): Promise<WrittenCertificateFiles> {
  const dir = resolve(outDir);
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const path of [certPath, keyPath]) {
      if (await exists(path)) {
        if (options.force !== true) {
          throw new LongreachError(
            'LR_CERT',
            `${path} already exists; refusing to overwrite it (pass --force to replace it, or choose another --out directory)`,
            { details: { path } },
          );
        }
        await unlink(path);
      }
    }
    await writeExclusive(keyPath, created.keyPem, 0o600);
    await writeExclusive(certPath, created.certPem, 0o644);
    await chmod(keyPath, 0o600);
  } catch (err) {
    if (err instanceof LongreachError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new LongreachError(
      'LR_CERT',
      `could not write the certificate files in ${dir}: ${e.code ?? ''} ${e.message}; ` +
        'check that the directory is writable or choose another --out directory',
      { cause: err, details: { path: e.path ?? dir } },
    );
  }
  return { certPath, keyPath };
}

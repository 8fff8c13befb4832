// TLS mechanism shared by agents and clients: certificate fingerprints, the TLS options for servers and for
// clients (TLS 1.2 or newer on both sides), and recognising TLS bytes on a plain connection.
// Whether to *trust* a server's certificate is decided in trust.ts (docs/protocol.md section 6).

import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { createRequire } from 'node:module';
import type * as tls from 'node:tls';
import { LongreachError, type ErrorCode } from './errors.js';

/** node:tls, loaded where it is used: an agent that serves no TLS never loads it (about 4 ms of a process's start). */
const nodeTls = (): typeof tls => createRequire(import.meta.url)('node:tls') as typeof tls;

/** The oldest TLS version either side accepts (docs/protocol.md section 1). */
export const MIN_TLS_VERSION = 'TLSv1.2' as const;

const FINGERPRINT_SHAPE = 'sha256: followed by 64 hex digits, colons optional (e.g. sha256:3fa2...9c or 3F:A2:...:9C)';

/** `sha256:` + 64 lowercase hex digits of the SHA-256 of a certificate's DER bytes. */
export function fingerprintOf(der: Uint8Array): string {
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/** The colon-separated upper-case form people compare by eye (as `openssl x509 -fingerprint -sha256` prints). */
export function displayFingerprint(fingerprint: string): string {
  const hex = parseFingerprint(fingerprint, 'LR_BAD_OPTION').slice('sha256:'.length);
  return (hex.match(/../g) ?? []).join(':').toUpperCase();
}

/**
 * Normalises a fingerprint typed by a person: `sha256:AB:CD:...`, `sha256:abcd...`, `AB:CD:...` or plain hex,
 * any case → `sha256:` + 64 lowercase hex digits. Anything else throws `code` with the expected shape.
 */
export function parseFingerprint(input: string, code: ErrorCode = 'LR_BAD_QUALIFIER'): string {
  const text = input.trim();
  let body = text;
  const sha256 = /^sha-?256:/i.exec(text);
  const other = /^([a-z0-9-]+):/i.exec(text);
  if (sha256 !== null) {
    body = text.slice(sha256[0].length);
  } else if (other !== null && !/^[0-9a-f]{2}$/i.test(other[1] ?? '')) {
    throw new LongreachError(
      code,
      `fingerprint ${JSON.stringify(input)} uses ${other[1] ?? ''}; only SHA-256 fingerprints are accepted: ${FINGERPRINT_SHAPE}`,
    );
  }
  const plain = /^[0-9a-f]{64}$/i.test(body);
  const colons = /^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/i.test(body);
  if (!plain && !colons) {
    throw new LongreachError(
      code,
      `fingerprint ${JSON.stringify(input)} is not a SHA-256 fingerprint; expected ${FINGERPRINT_SHAPE}`,
    );
  }
  return `sha256:${body.replaceAll(':', '').toLowerCase()}`;
}

/** True when `chunk` starts like a TLS record (a ClientHello, a ServerHello or an alert). */
export function looksLikeTlsRecord(chunk: Uint8Array): boolean {
  const type = chunk[0];
  return type !== undefined && type >= 0x14 && type <= 0x17 && (chunk.length < 2 || chunk[1] === 0x03);
}

// ---------------------------------------------------------------------------------------------------------------
// Servers

export interface ServerTls {
  /** Pass to `tls.createServer(options)` or `new tls.TLSSocket(socket, { isServer: true, ...options })`. */
  options: tls.TlsOptions;
  /** The fingerprint clients will see, for printing next to the listen address. */
  fingerprint: string;
  validTo: Date;
}

function certError(message: string, file: string, cause?: unknown): LongreachError {
  return new LongreachError('LR_CERT', message, { cause, details: { path: file } });
}

function readPemFile(file: string, what: 'certificate' | 'key'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint =
      what === 'certificate'
        ? 'create one with `longreach cert create --out DIR` or pass the right certificate file'
        : 'pass the key file written next to the certificate (key.pem)';
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? String(err)})`;
    throw certError(`${what} file ${file} ${why}; ${hint}`, file, err);
  }
}

/** Reads and checks a PEM certificate (chain) and its private key; errors are LR_CERT naming the file. */
export function loadServerTls(files: { certFile: string; keyFile: string }): ServerTls {
  const cert = readPemFile(files.certFile, 'certificate');
  const key = readPemFile(files.keyFile, 'key');
  return serverTlsFromPem({ cert, key, certLabel: files.certFile, keyLabel: files.keyFile });
}

/** Like loadServerTls for PEM text already in memory. */
export function serverTlsFromPem(pem: { cert: string; key: string; certLabel?: string; keyLabel?: string }): ServerTls {
  const certLabel = pem.certLabel ?? 'the certificate';
  const keyLabel = pem.keyLabel ?? 'the key';
  if (!pem.cert.includes('-----BEGIN CERTIFICATE-----')) {
    const swapped = pem.cert.includes('PRIVATE KEY-----');
    throw certError(
      swapped
        ? `${certLabel} holds a private key, not a certificate; did you swap the certificate and key files?`
        : `${certLabel} does not contain a PEM certificate (-----BEGIN CERTIFICATE-----); ` +
            'create one with `longreach cert create`',
      certLabel,
    );
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem.cert);
  } catch (err) {
    throw certError(`${certLabel} holds a damaged certificate (${(err as Error).message}); create a new one with \`longreach cert create\``, certLabel, err);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem.key);
  } catch (err) {
    const encrypted = /ENCRYPTED|passphrase/i.test(`${pem.key.slice(0, 100)} ${(err as Error).message}`);
    throw certError(
      encrypted
        ? `${keyLabel} is encrypted with a passphrase; Longreach needs an unencrypted key (e.g. \`openssl pkey -in ${keyLabel} -out key.pem\`)`
        : `${keyLabel} does not contain a PEM private key (-----BEGIN PRIVATE KEY-----); pass the key.pem written with the certificate`,
      keyLabel,
      err,
    );
  }
  if (!x509.checkPrivateKey(key)) {
    throw certError(
      `${keyLabel} is not the private key of ${certLabel}; use the key.pem created together with that certificate`,
      keyLabel,
    );
  }
  const options: tls.TlsOptions = { cert: pem.cert, key: pem.key, minVersion: MIN_TLS_VERSION };
  try {
    nodeTls().createSecureContext(options);
  } catch (err) {
    throw certError(`${certLabel} cannot be used for TLS (${(err as Error).message})`, certLabel, err);
  }
  return { options, fingerprint: fingerprintOf(x509.raw), validTo: new Date(x509.validTo) };
}

// ---------------------------------------------------------------------------------------------------------------
// Clients

/** Strips the brackets of an IPv6 literal as written in a qualifier (`[::1]` → `::1`). */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** The trust anchors used when an extra CA file is given: Node's default store plus that file. */
function defaultCertificateAuthorities(): string[] {
  const loaded = nodeTls();
  const get = (loaded as unknown as { getCACertificates?: (type?: string) => string[] }).getCACertificates;
  return typeof get === 'function' ? get('default') : [...loaded.rootCertificates];
}

export interface ClientTlsParams {
  host: string;
  port: number;
  /** PEM text of extra certificate authorities (the contents of `?ca=FILE`). */
  caPem?: string;
}

/**
 * Options for `tls.connect`. The handshake does not reject an untrusted certificate by itself
 * (`rejectUnauthorized: false`): the caller MUST run trust.ts's verifyServerCertificate before sending
 * anything. `socket.authorized` still reports whether the chain is valid against the CAs.
 */
export function clientTlsOptions(params: ClientTlsParams): tls.ConnectionOptions {
  const host = bareHost(params.host);
  const options: tls.ConnectionOptions = {
    host,
    port: params.port,
    minVersion: MIN_TLS_VERSION,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined, // checked in trust.ts, after the handshake
  };
  if (isIP(host) === 0) options.servername = host;
  if (params.caPem !== undefined) options.ca = [...defaultCertificateAuthorities(), params.caPem];
  return options;
}

/** Reads a `?ca=FILE` / `--ca FILE` file; LR_CERT naming the file when it is missing or holds no certificate. */
export function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw certError(
      `CA file ${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`}; check the ca= option`,
      file,
      err,
    );
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw certError(`CA file ${file} does not contain a PEM certificate (-----BEGIN CERTIFICATE-----); check the ca= option`, file);
  }
  return text;
}

// Client-side trust in an agent's certificate, exactly in the order of docs/protocol.md section 6:
// (1) certificate authorities, (2) a pinned fingerprint (always checked), (3) trust on first use through
// known_hosts, (4) insecure=1. connectTls() connects, verifies, and only then hands the socket to the caller,
// so nothing is sent to a server that is not trusted yet.

import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { LongreachError } from './errors.js';
import { addKnownHost, hostPortKey, lookupKnownHost, resolveKnownHostsPath } from './known-hosts.js';
import { bareHost, clientTlsOptions, displayFingerprint, fingerprintOf, parseFingerprint, readCaFile } from './tls.js';

/** What a person is shown about a certificate before deciding whether to trust it. */
export interface CertificateInfo {
  host: string;
  port: number;
  /** e.g. "CN=myhost, O=Longreach self-signed" */
  subject: string;
  issuer: string;
  selfSigned: boolean;
  /** The names the certificate is for, e.g. "DNS:myhost, IP Address:10.0.0.7". */
  subjectAltName: string;
  validFrom: Date;
  validTo: Date;
  /** `sha256:` + 64 lowercase hex digits. */
  fingerprint: string;
  /** The same, as AB:CD:... */
  fingerprintDisplay: string;
  /** Why the certificate authorities did not vouch for it (absent when they did). */
  caProblem?: string;
}

export type TrustDecision = 'once' | 'always' | 'abort';
export type TrustDecider = (info: CertificateInfo) => Promise<TrustDecision>;

export interface TrustOptions {
  host: string;
  port: number;
  /** Path of a PEM file of extra certificate authorities (`?ca=FILE`). */
  ca?: string;
  /** A pinned fingerprint (`?fingerprint=sha256:HEX`, colons optional, any case). */
  fingerprint?: string;
  /** `?insecure=1`: skip the checks; the result carries a warning the caller must show. */
  insecure?: boolean;
  /** Default: $LONGREACH_KNOWN_HOSTS, else the per-user file of docs/protocol.md section 6. */
  knownHostsPath?: string;
  /** Asks a person about an unknown certificate. Give it only when there is a terminal to ask on. */
  decide?: TrustDecider;
}

export type TrustMethod = 'ca' | 'pinned' | 'known-host' | 'once' | 'always' | 'insecure';

export interface TrustResult {
  method: TrustMethod;
  certificate: CertificateInfo;
  /** Present for insecure connections: print it, every time. */
  warning?: string;
}

function oneLine(dn: string): string {
  return dn.split('\n').filter((part) => part !== '').join(', ');
}

function describe(cert: X509Certificate, host: string, port: number): CertificateInfo {
  const fingerprint = fingerprintOf(cert.raw);
  return {
    host,
    port,
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    selfSigned: cert.subject === cert.issuer && cert.verify(cert.publicKey),
    subjectAltName: cert.subjectAltName ?? '',
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
    fingerprint,
    fingerprintDisplay: displayFingerprint(fingerprint),
  };
}

const CA_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed and not in the trusted CA list',
  SELF_SIGNED_CERT_IN_CHAIN: 'it was issued by a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'it was issued by a CA that is not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'it was issued by a CA that is not trusted',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet (check the clocks)',
};

/** Step 1: undefined when the CAs vouch for the certificate and it names the host, else the reason. */
function caProblem(socket: tls.TLSSocket, peer: X509Certificate, host: string): string | undefined {
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'unknown error');
    return CA_ERRORS[code] ?? `the certificate authorities do not vouch for it (${code})`;
  }
  // Checked on the certificate read once at the start: on Node 20 a second read of the peer certificate
  // (getPeerCertificate() or getPeerX509Certificate()) can come back empty, making every host look wrong.
  const named = isIP(host) !== 0 ? peer.checkIP(host) : peer.checkHost(host, { partialWildcards: false });
  if (named !== undefined) return undefined;
  const names = peer.subjectAltName ?? oneLine(peer.subject);
  return `it is not issued for ${host} (it names ${names === '' ? 'no host' : names})`;
}

/**
 * Decides whether the certificate presented on `socket` (after 'secureConnect') is trusted. Throws
 * LR_TLS_CHANGED, LR_TLS_UNTRUSTED or LR_TLS_FAILED; returns how it was trusted. Sends nothing.
 */
export async function verifyServerCertificate(
  socket: tls.TLSSocket,
  options: TrustOptions,
  /** The peer certificate read in the 'secureConnect' handler; read from the socket when absent. */
  presented?: X509Certificate,
): Promise<TrustResult> {
  const host = bareHost(options.host);
  const where = hostPortKey(host, options.port);
  const peer = presented ?? socket.getPeerX509Certificate();
  if (peer === undefined) {
    throw new LongreachError('LR_TLS_FAILED', `the server at ${where} presented no certificate; check its TLS settings`);
  }
  const info = describe(peer, host, options.port);
  const fp = info.fingerprint;
  const details = { host, port: options.port, fingerprint: fp };

  // (2) A pin is checked whatever else is said, even with insecure=1.
  if (options.fingerprint !== undefined) {
    const pinned = parseFingerprint(options.fingerprint);
    if (pinned !== fp) {
      throw new LongreachError(
        'LR_TLS_CHANGED',
        `the certificate of ${where} does not match the pinned fingerprint (possible man-in-the-middle): ` +
          `expected ${pinned}, the server presented ${fp}. If the server's certificate was replaced on purpose, ` +
          'update fingerprint= in the qualifier.',
        { details: { ...details, expected: pinned } },
      );
    }
  }
  // (4) insecure=1 skips the rest, loudly (a pin given with it was checked above and suffices).
  if (options.insecure === true && options.fingerprint === undefined) {
    return {
      method: 'insecure',
      certificate: info,
      warning:
        `longreach: WARNING: TLS certificate checks are OFF for ${where} (insecure=1): anyone on the network path ` +
        `can read and change this session. The server presented ${fp}; pin it with ?fingerprint=${fp} instead.`,
    };
  }
  // (1) Certificate authorities.
  const problem = caProblem(socket, peer, host);
  if (problem === undefined) return { method: 'ca', certificate: info };
  info.caProblem = problem;
  if (options.fingerprint !== undefined) return { method: 'pinned', certificate: info };

  // (3) Trust on first use.
  const store = resolveKnownHostsPath(options.knownHostsPath);
  const known = await lookupKnownHost(store, host, options.port);
  if (known.includes(fp)) return { method: 'known-host', certificate: info };
  if (known.length > 0) {
    throw new LongreachError(
      'LR_TLS_CHANGED',
      `the certificate of ${where} has changed since you trusted it (possible man-in-the-middle): ` +
        `${store} has ${known.join(', ')}, the server presented ${fp}. If the certificate was replaced on purpose, ` +
        `delete the line for ${where} from ${store} and connect again.`,
      { details: { ...details, expected: known[0], knownHostsPath: store } },
    );
  }
  const summary =
    `subject ${info.subject}, valid ${info.validFrom.toISOString()} to ${info.validTo.toISOString()}, fingerprint ${fp}`;
  if (options.decide === undefined) {
    throw new LongreachError(
      'LR_TLS_UNTRUSTED',
      `the certificate of ${where} is not trusted: ${problem} (${summary}). If this is the right server, pin it by ` +
        `adding ?fingerprint=${fp} to the qualifier (e.g. tcps://***@${where}?fingerprint=${fp}), ` +
        'or give the CA that issued it with ?ca=FILE.',
      { details },
    );
  }
  const decision = await options.decide(info);
  if (decision === 'once') return { method: 'once', certificate: info };
  if (decision === 'always') {
    await addKnownHost(store, host, options.port, fp);
    return { method: 'always', certificate: info };
  }
  throw new LongreachError(
    'LR_TLS_UNTRUSTED',
    `you chose not to trust the certificate of ${where} (${fp}); nothing was sent to it`,
    { details },
  );
}

/** The `tls.connect` options for these trust options (reads the CA file; LR_CERT if it cannot be used). */
export function tlsConnectOptions(options: Pick<TrustOptions, 'host' | 'port' | 'ca'>): tls.ConnectionOptions {
  const params = { host: options.host, port: options.port };
  return clientTlsOptions(options.ca === undefined ? params : { ...params, caPem: readCaFile(options.ca) });
}

export interface ConnectTlsOptions extends TrustOptions {
  /** Bound on TCP connect + TLS handshake (not on the person answering `decide`). Default 10 000 ms. */
  timeoutMs?: number;
}

export interface TlsConnection {
  /** Trusted and unused: nothing has been written to it yet. */
  socket: tls.TLSSocket;
  trust: TrustResult;
  /** The insecure=1 warning (same as trust.warning): the caller MUST show it. */
  warning?: string;
}

const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_HTTP_REQUEST',
  'ERR_SSL_RECORD_LAYER_FAILURE',
  'ECONNRESET',
  'EPIPE',
]);

/** Maps a socket error before the handshake finished to a Longreach error. */
export function mapTlsConnectError(err: unknown, host: string, port: number): LongreachError {
  if (err instanceof LongreachError) return err;
  const where = hostPortKey(host, port);
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? '';
  const cause = { cause: err, details: { host, port, errno: code } };
  if (code === 'ECONNREFUSED') {
    return new LongreachError('LR_REFUSED', `the connection to ${where} was refused; is the agent running and listening on that port?`, cause);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA' || code === 'EAI_NONAME') {
    return new LongreachError('LR_UNREACHABLE', `cannot resolve the host name ${bareHost(host)} (${code}); check the host in the qualifier`, cause);
  }
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT' || code === 'EADDRNOTAVAIL') {
    return new LongreachError('LR_UNREACHABLE', `cannot reach ${where} (${code}); check the host, the network and any firewall`, cause);
  }
  if (NOT_TLS.has(code)) {
    return new LongreachError('LR_TLS_MISMATCH', `the server at ${where} does not speak TLS; use tcp:// instead`, cause);
  }
  if (/PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE/.test(code)) {
    return new LongreachError(
      'LR_TLS_FAILED',
      `the TLS handshake with ${where} failed: the server offers only TLS versions older than 1.2 (${code}); ` +
        'Longreach needs TLS 1.2 or newer on both sides',
      cause,
    );
  }
  return new LongreachError('LR_TLS_FAILED', `the TLS handshake with ${where} failed (${code || e.message}); check that the agent was started with a valid certificate`, cause);
}

function checkOptions(options: ConnectTlsOptions): number {
  if (typeof options.host !== 'string' || options.host === '') {
    throw new LongreachError('LR_BAD_OPTION', 'host must be a non-empty string, e.g. "127.0.0.1" or "myhost"');
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new LongreachError('LR_BAD_OPTION', `port must be a whole number from 1 to 65535, got ${JSON.stringify(options.port)}`);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new LongreachError('LR_BAD_OPTION', `timeoutMs must be a positive number of milliseconds, got ${JSON.stringify(options.timeoutMs)}`);
  }
  if (options.fingerprint !== undefined) parseFingerprint(options.fingerprint);
  return timeoutMs;
}

/**
 * Connects over TLS, verifies the certificate (section 6) and resolves with the socket only once it is
 * trusted; until then nothing is written to it. The caller must print `warning` when present. Errors: LR_BAD_OPTION, LR_CERT (ca file), LR_TIMEOUT,
 * LR_REFUSED, LR_UNREACHABLE, LR_TLS_MISMATCH, LR_TLS_FAILED, LR_TLS_UNTRUSTED, LR_TLS_CHANGED, LR_CLOSED.
 */
export async function connectTls(options: ConnectTlsOptions): Promise<TlsConnection> {
  const timeoutMs = checkOptions(options);
  const connectOptions = tlsConnectOptions(options);
  const where = hostPortKey(options.host, options.port);

  let presented: X509Certificate | undefined;
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect(connectOptions);
    const fail = (err: LongreachError): void => {
      clearTimeout(timer);
      s.removeListener('secureConnect', onSecure);
      s.removeListener('close', onClose);
      s.on('error', () => undefined); // late errors of a socket we gave up on
      s.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(mapTlsConnectError(err, options.host, options.port));
    const onClose = (): void =>
      fail(new LongreachError('LR_TLS_MISMATCH', `the server at ${where} does not speak TLS; use tcp:// instead`));
    const onSecure = (): void => {
      clearTimeout(timer);
      s.removeListener('error', onError);
      s.removeListener('close', onClose);
      presented = s.getPeerX509Certificate(); // read once, at once (see caProblem)
      resolve(s);
    };
    const timer = setTimeout(
      () =>
        fail(
          new LongreachError(
            'LR_TIMEOUT',
            `no TLS connection to ${where} within ${timeoutMs} ms; check the host and port and that the agent listens there with tcps://`,
          ),
        ),
      timeoutMs,
    );
    s.once('error', onError);
    s.once('close', onClose);
    s.once('secureConnect', onSecure);
  });

  // The handshake is done; nothing is sent until the certificate is trusted.
  let lateError: Error | undefined;
  const onLateError = (err: Error): void => {
    lateError = err;
  };
  socket.on('error', onLateError);
  try {
    const result = await verifyServerCertificate(socket, options, presented);
    if (socket.destroyed || lateError !== undefined || socket.readableEnded) {
      throw new LongreachError(
        'LR_CLOSED',
        `the server at ${where} closed the connection while its certificate was being checked; connect again` +
          (result.method === 'always' ? ' (the certificate is now in known_hosts)' : ''),
        { cause: lateError },
      );
    }
    socket.removeListener('error', onLateError);
    return result.warning === undefined
      ? { socket, trust: result }
      : { socket, trust: result, warning: result.warning };
  } catch (err) {
    socket.removeListener('error', onLateError);
    socket.on('error', () => undefined);
    socket.destroy();
    throw err;
  }
}

// Qualifiers: tcp://[SECRET@]HOST[:PORT][?OPTIONS] and tcps://... (docs/protocol.md section 7).

import { LongreachError } from './errors.js';
import { parseFingerprint } from './tls.js';

export const DEFAULT_PORT = 5678;
export const MAX_PORT_RANGE = 1024;

const SHAPE = 'tcp://[SECRET@]HOST[:PORT][?pid=PID] or tcps://[SECRET@]HOST[:PORT][?pid=PID&ca=FILE|fingerprint=sha256:HEX|insecure=1]';
const TLS_OPTIONS = ['ca', 'fingerprint', 'insecure'] as const;
const OPTIONS = ['pid', ...TLS_OPTIONS] as const;

export interface Qualifier {
  scheme: 'tcp' | 'tcps';
  /** Percent-decoded secret, or null when the qualifier has none. */
  secret: string | null;
  /** Host name or address, without IPv6 brackets. */
  host: string;
  port: number;
  /** Last port of a range (`5678-5690`); equal to `port` for a single port. */
  portEnd: number;
  ca?: string;
  fingerprint?: string;
  insecure: boolean;
  /** `?pid=PID`: one process of a job or hub reached through this address (docs/protocol.md 5.3). */
  pid?: number;
}

export interface ParseOptions {
  /** Accept `HOST:5678-5690` (for listing). */
  allowRange?: boolean;
}

/** Replaces the secret of every qualifier in a text with ***. Used on every message and log line. */
export function maskSecrets(text: string): string {
  // The usage placeholder `[SECRET@]` is the one thing before an @ that is not a secret.
  return text.replace(/(tcps?:\/\/)(?!\[SECRET@\])[^@\s/?#]*@/gi, '$1***@');
}

export function parseQualifier(input: string, options: ParseOptions = {}): Qualifier {
  const fail = (why: string): never => {
    throw new LongreachError('LR_BAD_QUALIFIER', `${why}: expected ${SHAPE}, got ${JSON.stringify(maskSecrets(input))}`);
  };
  if (typeof input !== 'string' || input.trim() === '') return fail('empty qualifier');
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(input.trim());
  if (!match) return fail('missing tcp:// or tcps://');
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'tcp' && scheme !== 'tcps') return fail(`unknown scheme ${scheme}://`);
  let rest = match[2]!;

  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (rest.includes('#')) return fail('a qualifier has no #fragment');

  let secret: string | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const raw = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (raw === '') return fail('empty secret before @ (leave out the @ for no secret)');
    try {
      secret = decodeURIComponent(raw);
    } catch {
      return fail('the secret has a malformed %-escape (write @ as %40, % as %25)');
    }
  }
  if (rest.includes('/')) return fail('a qualifier has no /path after the host');

  let host: string;
  let portText: string | null = null;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return fail('unclosed [ in an IPv6 address');
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return fail('expected :PORT after ]');
      portText = after.slice(1);
    }
    if (!/^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/.test(host) || !host.includes(':')) return fail('invalid IPv6 address in brackets');
  } else {
    const colons = rest.split(':').length - 1;
    if (colons > 1) return fail('write IPv6 addresses in brackets, like [::1]:5678');
    const colon = rest.indexOf(':');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    if (colon >= 0) portText = rest.slice(colon + 1);
    if (!/^[A-Za-z0-9._-]+$/.test(host)) return fail(host === '' ? 'missing host' : `invalid host ${JSON.stringify(host)}`);
  }
  if (host === '') return fail('missing host');

  let port = DEFAULT_PORT;
  let portEnd = DEFAULT_PORT;
  if (portText !== null) {
    const range = /^(\d{1,5})-(\d{1,5})$/.exec(portText);
    if (range) {
      if (!options.allowRange) return fail('a port range is only accepted for listing');
      port = Number(range[1]);
      portEnd = Number(range[2]);
      if (!validPort(port) || !validPort(portEnd)) return fail('ports must be 1-65535');
      if (portEnd < port) return fail(`port range ${portText} runs backwards`);
      if (portEnd - port + 1 > MAX_PORT_RANGE) return fail(`a port range may span at most ${MAX_PORT_RANGE} ports`);
    } else {
      if (!/^\d{1,5}$/.test(portText)) return fail(portText === '' ? 'missing port after :' : `invalid port ${JSON.stringify(portText)}`);
      port = portEnd = Number(portText);
      if (!validPort(port)) return fail('ports must be 1-65535');
    }
  }

  const result: Qualifier = { scheme, secret, host, port, portEnd, insecure: false };
  if (query !== '') {
    for (const [key, value] of new URLSearchParams(query)) {
      if (!(OPTIONS as readonly string[]).includes(key)) return fail(`unknown option ${JSON.stringify(key)} (known: ${OPTIONS.join(', ')})`);
      if (key === 'pid') {
        if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > 0x7fffffff) return fail('pid takes a process id, like ?pid=4242');
        if (result.pid !== undefined) return fail('pid is given twice');
        result.pid = Number(value);
        continue;
      }
      if (scheme !== 'tcps') return fail(`option ${key} needs tcps://`);
      if (key === 'insecure') {
        if (!['1', 'true', '0', 'false'].includes(value)) return fail('insecure takes 1 or 0');
        result.insecure = value === '1' || value === 'true';
      } else if (value === '') {
        return fail(`option ${key} needs a value`);
      } else if (key === 'ca') {
        result.ca = value;
      } else {
        try {
          parseFingerprint(value);
        } catch {
          return fail('fingerprint must look like sha256:HEX (64 hex digits, colons allowed)');
        }
        result.fingerprint = value;
      }
    }
  }
  if (result.pid !== undefined && portEnd !== port) return fail('?pid= names one process: give one port, not a range');
  return result;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** host:port with IPv6 brackets, as shown to users and stored in known_hosts. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A qualifier as text; the secret is masked unless `revealSecret` (only for handing to a child process). */
export function formatQualifier(q: Qualifier, { revealSecret = false } = {}): string {
  const secret = q.secret === null ? '' : revealSecret ? `${encodeURIComponent(q.secret)}@` : '***@';
  const ports = q.portEnd !== q.port ? `${q.port}-${q.portEnd}` : String(q.port);
  const params = new URLSearchParams();
  if (q.pid !== undefined) params.set('pid', String(q.pid));
  if (q.ca !== undefined) params.set('ca', q.ca);
  if (q.fingerprint !== undefined) params.set('fingerprint', q.fingerprint);
  if (q.insecure) params.set('insecure', '1');
  const query = params.size > 0 ? `?${params.toString().replace(/%3A/gi, ':').replace(/%2F/gi, '/')}` : '';
  const host = q.host.includes(':') ? `[${q.host}]` : q.host;
  return `${q.scheme}://${secret}${host}:${ports}${query}`;
}

/** Expands a range qualifier into one qualifier per port. */
export function expandPorts(q: Qualifier): Qualifier[] {
  const out: Qualifier[] = [];
  for (let port = q.port; port <= q.portEnd; port++) out.push({ ...q, port, portEnd: port });
  return out;
}

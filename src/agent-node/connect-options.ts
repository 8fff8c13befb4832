// Reverse connect options of the Node.js agent (docs/protocol.md section 11): enableAttach({ connect, ca,
// fingerprint }) and LONGREACH_CONNECT / LONGREACH_CA / LONGREACH_FINGERPRINT, checked eagerly with the option's name.

import { LongreachError } from '../protocol/errors.js';
import { parseFingerprint, readCaFile } from '../protocol/tls.js';

/** What the worker needs to dial the hub. */
export interface ConnectConfig {
  host: string;
  port: number;
  /** PEM text of the CA file that must vouch for the hub's certificate. */
  ca?: string;
  /** sha256:HEX the hub's certificate must have. */
  fingerprint?: string;
}

function bad(name: string, what: string): never {
  throw new LongreachError('LR_BAD_OPTION', `${name} ${what}`);
}

/** "host:port", "[::1]:port" or { host, port } → { host, port }. */
export function parseConnectAddress(value: unknown, name = 'connect'): { host: string; port: number } {
  if (value !== null && typeof value === 'object') {
    const { host, port } = value as { host?: unknown; port?: unknown };
    if (typeof host !== 'string' || host === '') bad(`${name}.host`, 'must be a non-empty string such as "hub.example.com"');
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) bad(`${name}.port`, 'must be an integer from 1 to 65535');
    return { host, port };
  }
  const m = typeof value === 'string' ? /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value.trim()) : null;
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) bad(name, `must be HOST:PORT of the hub (e.g. "bastion.example.com:5678" or "[::1]:5678"), got ${JSON.stringify(value)}`);
  return { host: m[1] ?? m[2]!, port };
}

export function connectConfig(options: { connect?: unknown; ca?: unknown; fingerprint?: unknown; secret: unknown; host?: unknown; port?: unknown }): ConnectConfig | undefined {
  if (options.connect === undefined) {
    if (options.ca !== undefined || options.fingerprint !== undefined) bad(options.ca !== undefined ? 'ca' : 'fingerprint', 'is for reverse connect only (the hub\'s certificate): pass connect too');
    return undefined;
  }
  if (options.host !== undefined || options.port !== undefined) bad('connect', 'and host/port exclude each other: the agent either listens (host, port) or dials a hub (connect)');
  if (typeof options.secret !== 'string') bad('secret', 'is required with connect: the hub must prove that it knows it');
  const config: ConnectConfig = parseConnectAddress(options.connect);
  if (options.ca !== undefined) {
    if (typeof options.ca !== 'string' || options.ca === '') bad('ca', 'must be the path of a PEM CA file');
    config.ca = readCaFile(options.ca);
  }
  if (options.fingerprint !== undefined) {
    if (typeof options.fingerprint !== 'string') bad('fingerprint', 'must be a string such as "sha256:3fa2..."');
    config.fingerprint = parseFingerprint(options.fingerprint, 'LR_BAD_OPTION');
  }
  return config;
}

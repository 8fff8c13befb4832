// The server core for the Node.js agent: a TCP or TLS listener whose connections pass the gate.
// It never keeps the host process alive: the listener and every socket are unref'd.

import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { DapConnection } from '../protocol/connection.js';
import { LongreachError } from '../protocol/errors.js';
import { DEFAULT_BODY_LIMIT } from '../protocol/framing.js';
import { formatAddress } from '../protocol/qualifier.js';
import { log } from '../protocol/log.js';
import { Admission } from './admission.js';
import { Gate, type GateJob, type GateShared, type SessionFactory, type SessionPreparer } from './gate.js';
import { nodeProcessInfo, type ProcessInfo } from './process-info.js';
import { Throttle } from './throttle.js';

export interface ServerOptions {
  /** The shared secret, or null to let anyone attach (ptvsd 3 semantics; warns on non-loopback addresses). */
  secret: string | null;
  host?: string;
  port?: number;
  /** PEM certificate and key: serve TLS (1.2 or newer). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  allowPlainSecret?: boolean;
  /** Frame body limit after authentication (default 16 MiB). */
  bodyLimit?: number;
  authTimeoutMs?: number;
  throttleBaseMs?: number;
  maxConnections?: number;
  agentName?: string;
  capabilities?: Record<string, unknown>;
  processInfo?: (attached: ProcessInfo['attached']) => ProcessInfo;
  createSession: SessionFactory;
  /** Called before createSession at every attach; see GateShared.prepareSession. */
  prepareSession?: SessionPreparer;
  /** This process is a job's root: the gateway to its other processes (docs/protocol.md 5.3). */
  job?: GateJob;
  /** Where the no-secret warning goes (default: process.stderr). */
  warn?: (line: string) => void;
}

export interface DebugServer {
  readonly host: string;
  readonly port: number;
  /** Who is attached right now, if anyone. */
  attached(): ProcessInfo['attached'];
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function startServer(options: ServerOptions): Promise<DebugServer> {
  validate(options);
  const host = options.host ?? '0.0.0.0';
  const authTimeoutMs = options.authTimeoutMs ?? 10_000;
  const shared = createGateShared(options);
  const sockets = new Set<Socket>();
  const maxConnections = options.maxConnections ?? 64;
  const isTls = options.tls !== undefined;
  // Connections that have not authenticated hold a place at the gate (admission.ts); TLS ones from before the
  // handshake, keyed by their raw socket's address and port, which the TLS socket shares.
  const full = Math.max(2, Math.floor((maxConnections * 3) / 4));
  const admission = new Admission({ start: Math.floor(full / 3), full });
  const secure = new Set<Socket>();
  const places = new Map<string, { release(): void }>();
  const placeKey = (socket: Socket): string => `${socket.remoteAddress ?? '?'}|${socket.remotePort ?? 0}`;

  /** Admits a raw socket to the gate, or refuses it; false when it was refused (and destroyed). */
  const admit = (socket: Socket): boolean => {
    socket.unref();
    const peer = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    const ticket = sockets.size >= maxConnections ? null : admission.admit(socket.remoteAddress ?? '?');
    if (!ticket) {
      log('server', `refusing ${peer}: ${sockets.size >= maxConnections ? `${maxConnections} connections already open` : 'too many connections waiting to authenticate'}`);
      socket.destroy();
      return false;
    }
    const key = placeKey(socket);
    places.set(key, ticket);
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      ticket.release();
      if (places.get(key) === ticket) places.delete(key);
    });
    return true;
  };

  const accept = (socket: Socket): void => {
    socket.unref();
    const peer = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    const ticket = places.get(placeKey(socket));
    if (isTls) {
      secure.add(socket);
      socket.on('close', () => secure.delete(socket));
    }
    const conn = new DapConnection(socket, { peer });
    // a connection that failed (bad framing) no longer waits to authenticate, though its socket may linger
    conn.on('close', () => ticket?.release());
    new Gate(conn, shared, { isTls, address: peer, authTimeoutMs, onAuthenticated: () => ticket?.release() });
  };

  let server: Server;
  if (options.tls) {
    let tlsServer;
    try {
      const { createServer: createTlsServer } = await import('node:tls'); // (loaded only to serve TLS)
      tlsServer = createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: authTimeoutMs });
    } catch (err) {
      throw new LongreachError('LR_CERT', `cannot use the certificate and key: ${(err as Error).message} (make both with: longreach cert create)`, { cause: err });
    }
    tlsServer.on('connection', (socket: Socket) => void admit(socket));
    tlsServer.on('secureConnection', (socket: TLSSocket) => accept(socket));
    tlsServer.on('tlsClientError', (err, socket) => {
      log('tls', `TLS handshake with ${socket.remoteAddress ?? '?'} failed: ${err.message}`);
    });
    server = tlsServer;
  } else {
    server = createTcpServer((socket) => {
      if (admit(socket)) accept(socket);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new LongreachError('LR_ADDRESS_IN_USE', `${formatAddress(host, options.port ?? 5678)} is already in use; choose another port (port 0 picks a free one)`, { cause: err }));
      else reject(new LongreachError('LR_BAD_OPTION', `cannot listen on ${formatAddress(host, options.port ?? 5678)}: ${err.message}`, { cause: err }));
    });
    server.listen({ host, port: options.port ?? 5678 }, () => resolve());
  });
  server.on('error', (err) => log('server', `listener error: ${err.message}`));
  server.unref();
  const address = server.address() as AddressInfo;
  log('server', `listening on ${formatAddress(address.address, address.port)}${isTls ? ' (TLS)' : ''}`);
  if (options.secret === null && !LOOPBACK.test(host)) {
    (options.warn ?? ((line) => process.stderr.write(`${line}\n`)))(
      `longreach: WARNING: debug server on ${formatAddress(host, address.port)} accepts anyone without a secret; anyone who can reach this port can run code in this process`,
    );
  }

  return {
    host: address.address,
    port: address.port,
    attached: () => (shared.attached ? { address: shared.attached.address, since: shared.attached.since } : null),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of [...secure, ...sockets]) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The state every connection's gate shares (one per agent): also used by the reverse-connect dialer (dial.ts). */
export function createGateShared(options: Omit<ServerOptions, 'host' | 'port' | 'tls'>): GateShared {
  return {
    secret: options.secret,
    allowPlainSecret: options.allowPlainSecret ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    agentName: options.agentName ?? 'longreach-node',
    capabilities: options.capabilities ?? {},
    throttle: new Throttle({ baseMs: options.throttleBaseMs ?? 250 }),
    processInfo: options.processInfo ?? nodeProcessInfo,
    createSession: options.createSession,
    prepareSession: options.prepareSession ?? null,
    attached: null,
    closing: null,
    job: options.job ?? null,
  };
}

function validate(options: ServerOptions): void {
  const bad = (name: string, what: string): never => {
    throw new LongreachError('LR_BAD_OPTION', `${name} ${what}`);
  };
  if (options.secret !== null && (typeof options.secret !== 'string' || options.secret === '')) {
    bad('secret', 'must be a non-empty string, or null to let anyone attach');
  }
  if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)) bad('port', 'must be an integer from 0 to 65535');
  if (options.host !== undefined && (typeof options.host !== 'string' || options.host === '')) bad('host', 'must be a non-empty string');
  if (options.tls && (!options.tls.cert || !options.tls.key)) bad('tls', 'needs both cert and key');
  if (typeof options.createSession !== 'function') bad('createSession', 'must be a function');
}

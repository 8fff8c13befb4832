// `longreach listen`: a hub that agents dial into (docs/protocol.md section 11). One port (TCP or TLS) serves both:
// a connection whose first message is `longreach/agentHello` is an agent, anything else is a client.

import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { DapConnection } from '../protocol/connection.js';
import { LongreachError } from '../protocol/errors.js';
import { formatAddress } from '../protocol/qualifier.js';
import { log } from '../protocol/log.js';
import { MIN_TLS_VERSION } from '../protocol/tls.js';
import { Throttle } from '../server/throttle.js';
import { AgentRegistry } from './agents.js';
import { ClientGate } from './client-gate.js';

export interface HubOptions {
  secret: string;
  host?: string;
  port?: number;
  /** PEM certificate and key: serve TLS to agents and clients alike. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  authTimeoutMs?: number;
  throttleBaseMs?: number;
  /** Connections open at once, agents and clients together (default 256). */
  maxConnections?: number;
  /** One line per agent or client that comes or goes (the `listen` command prints them). */
  onEvent?: (line: string) => void;
}

export interface Hub {
  readonly host: string;
  readonly port: number;
  /** How many agents are connected. */
  agents(): number;
  close(): Promise<void>;
}

export async function startHub(options: HubOptions): Promise<Hub> {
  if (typeof options.secret !== 'string' || options.secret === '') throw new LongreachError('LR_SECRET_REQUIRED', 'a hub needs a secret: agents make it prove that it knows the secret');
  const host = options.host ?? '0.0.0.0';
  const authTimeoutMs = options.authTimeoutMs ?? 10_000;
  const maxConnections = options.maxConnections ?? 256;
  const onEvent = options.onEvent ?? (() => undefined);
  const throttle = new Throttle({ baseMs: options.throttleBaseMs ?? 250 });
  const registry = new AgentRegistry({ secret: options.secret, throttle, onEvent });
  const sockets = new Set<Socket>();

  const accept = (socket: Socket): void => {
    const peer = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    if (sockets.size >= maxConnections) {
      log('hub', `refusing ${peer}: ${maxConnections} connections already open`);
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setKeepAlive(true, 30_000);
    const conn = new DapConnection(socket, { peer });
    const ip = socket.remoteAddress ?? peer;
    const silent = setTimeout(() => conn.fail(new LongreachError('LR_TIMEOUT', `nothing sent within ${authTimeoutMs / 1000} s of connecting`)), authTimeoutMs);
    conn.once('close', () => clearTimeout(silent));
    conn.once('message', (first) => {
      clearTimeout(silent);
      if (first.type === 'request' && first.command === 'longreach/agentHello') {
        registry.handshake(conn, first, ip);
        // the agent's handshake has its own bound: agentAuth must follow at once
        const pending = setTimeout(() => conn.fail(new LongreachError('LR_TIMEOUT', 'the agent did not finish the handshake')), authTimeoutMs);
        conn.once('message', () => clearTimeout(pending));
        conn.once('close', () => clearTimeout(pending));
      } else {
        new ClientGate(conn, { secret: options.secret, throttle, registry, authTimeoutMs, onEvent }, ip, first);
      }
    });
  };

  let server: Server;
  if (options.tls) {
    try {
      server = createTlsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: MIN_TLS_VERSION, handshakeTimeout: authTimeoutMs }, accept);
    } catch (err) {
      throw new LongreachError('LR_CERT', `cannot use the certificate and key: ${(err as Error).message} (make both with: longreach cert create)`, { cause: err });
    }
    server.on('tlsClientError', (err, socket) => log('tls', `TLS handshake with ${socket.remoteAddress ?? '?'} failed: ${err.message}`));
  } else {
    server = createTcpServer(accept);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = formatAddress(host, options.port ?? 5678);
      if (err.code === 'EADDRINUSE') reject(new LongreachError('LR_ADDRESS_IN_USE', `${where} is already in use; choose another port (port 0 picks a free one)`, { cause: err }));
      else reject(new LongreachError('LR_BAD_OPTION', `cannot listen on ${where}: ${err.message}`, { cause: err }));
    });
    server.listen({ host, port: options.port ?? 5678 }, () => resolve());
  });
  server.on('error', (err) => log('hub', `listener error: ${err.message}`));
  const address = server.address() as AddressInfo;
  log('hub', `hub listening on ${formatAddress(address.address, address.port)}${options.tls ? ' (TLS)' : ''}`);
  return {
    host: address.address,
    port: address.port,
    agents: () => registry.size,
    close: () =>
      new Promise<void>((resolve) => {
        registry.closeAll();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// Reverse connect for the Node.js agent (docs/protocol.md section 11): instead of listening, the agent dials a hub
// (`longreach listen`), makes the hub prove that it knows the secret before saying anything about itself, proves
// it knows the secret too, and then serves the connection exactly as it serves an authenticated client. One
// control connection stays open; the hub asks on it for a fresh session connection per client (openSession).
// It opens no listening socket, retries with bounded jittered backoff, and never keeps the process alive.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { computeHubProof, decodeNonce, proofMatches } from '../protocol/auth.js';
import { DapConnection } from '../protocol/connection.js';
import { LongreachError } from '../protocol/errors.js';
import type { DapMessage } from '../protocol/framing.js';
import { formatAddress } from '../protocol/qualifier.js';
import { log } from '../protocol/log.js';
import { MIN_TLS_VERSION, fingerprintOf } from '../protocol/tls.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { Gate } from './gate.js';
import { createGateShared, type ServerOptions } from './server.js';

export interface DialOptions extends Omit<ServerOptions, 'host' | 'port' | 'tls' | 'maxConnections' | 'warn' | 'secret'> {
  /** Reverse connect needs a secret: the hub proves it knows it before the agent says anything. */
  secret: string;
  hub: { host: string; port: number };
  /** TLS trust of the hub's certificate: a CA (PEM text), a pinned fingerprint (sha256:HEX), or both. */
  ca?: string;
  fingerprint?: string;
  /** Backoff between attempts: first delay, cap, and the slower pace after a hub failed authentication. */
  minDelayMs?: number;
  maxDelayMs?: number;
  refusedDelayMs?: number;
}

export interface Dialer {
  readonly host: string;
  readonly port: number;
  /** True while an authenticated control connection to the hub is open. */
  connected(): boolean;
  close(): Promise<void>;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;
const MAX_SESSIONS = 8;
const TICKET = /^[A-Za-z0-9_-]{16,64}$/;

/** The hub did not prove it knows the secret (or refused ours): retried slowly, logged under `auth`. */
class HubRefused extends Error {}

export function startDialer(options: DialOptions): Dialer {
  if (typeof options.secret !== 'string' || options.secret === '') throw new LongreachError('LR_BAD_OPTION', 'connect needs a secret: the hub must prove it knows it');
  const shared = createGateShared(options);
  const { host, port } = options.hub;
  const hubPeer = formatAddress(host, port);
  const useTls = options.ca !== undefined || options.fingerprint !== undefined;
  const minDelay = options.minDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5_000;
  const refusedDelay = options.refusedDelayMs ?? 30_000;
  const sockets = new Set<Socket>();
  let closed = false;
  let control: DapConnection | null = null;
  let delay = minDelay;
  let timer: NodeJS.Timeout | null = null;
  let sessions = 0;

  const openSocket = (): Promise<Socket> =>
    new Promise<Socket>((resolve, reject) => {
      const socket: Socket = useTls
        ? tlsConnect({
            host,
            port,
            minVersion: MIN_TLS_VERSION,
            ...(isIP(host) === 0 ? { servername: host } : {}),
            ...(options.ca !== undefined ? { ca: options.ca } : {}),
            rejectUnauthorized: options.ca !== undefined,
          })
        : netConnect({ host, port });
      socket.unref();
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      const giveUp = setTimeout(() => socket.destroy(new Error(`no connection within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS).unref();
      socket.once('error', (err) => {
        clearTimeout(giveUp);
        reject(err);
      });
      socket.once(useTls ? 'secureConnect' : 'connect', () => {
        clearTimeout(giveUp);
        if (useTls && options.fingerprint !== undefined) {
          const raw = (socket as TLSSocket).getPeerCertificate()?.raw;
          const presented = Buffer.from(raw ? fingerprintOf(raw) : '');
          const pinned = Buffer.from(options.fingerprint);
          if (presented.length !== pinned.length || !timingSafeEqual(presented, pinned)) {
            socket.destroy();
            reject(new HubRefused(`the hub's certificate is not the pinned one (${raw ? fingerprintOf(raw) : 'none'})`));
            return;
          }
        }
        resolve(socket);
      });
    });

  /** Dials and runs the handshake; resolves with the authenticated connection (Gate already attached). */
  const dial = async (role: 'control' | 'session', extra: { ticket?: string; client?: string } = {}): Promise<DapConnection> => {
    const socket = await openSocket();
    const conn = new DapConnection(socket, { peer: hubPeer });
    return new Promise<DapConnection>((resolve, reject) => {
      const agentNonce = randomBytes(32);
      let step: 'hello' | 'auth' | 'done' = 'hello';
      const fail = (err: Error): void => {
        if (step === 'done') return;
        step = 'done';
        clearTimeout(deadline);
        conn.destroy();
        reject(err);
      };
      const deadline = setTimeout(() => fail(new Error(`the hub did not finish the handshake within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS).unref();
      conn.on('close', () => fail(new Error(`the hub closed the connection during the handshake${useTls ? '' : ' (a hub that serves TLS needs LONGREACH_FINGERPRINT or LONGREACH_CA here)'}`)));
      const onMessage = (message: DapMessage): void => {
        if (step === 'done') return;
        const body = (message.body ?? {}) as Record<string, unknown>;
        if (message.type !== 'response' || message.success !== true) {
          const refusal = message.type === 'response' && typeof message.message === 'string' ? message.message : 'an unexpected message';
          fail(new HubRefused(`the hub refused the handshake (${refusal})`));
          return;
        }
        if (step === 'hello') {
          const hubNonce = decodeNonce(body.nonce);
          if (!hubNonce || !proofMatches(computeHubProof(options.secret, 'hub', agentNonce, hubNonce), body.proof)) {
            // A hub that does not know the secret learns nothing more: not even the pid.
            fail(new HubRefused('the hub does not know the secret (its proof did not match)'));
            return;
          }
          step = 'auth';
          const args: Record<string, unknown> = { proof: computeHubProof(options.secret, 'agent', agentNonce, hubNonce), role };
          if (extra.ticket !== undefined) args.ticket = extra.ticket;
          conn.send({ type: 'request', command: 'longreach/agentAuth', arguments: args });
          return;
        }
        // Authenticated both ways: from here the hub asks and this agent answers, as to any client. Set up the gate
        // synchronously, so a request arriving in the same chunk as this response reaches it.
        step = 'done';
        clearTimeout(deadline);
        conn.removeListener('message', onMessage);
        conn.removeAllListeners('close');
        const address = role === 'session' && extra.client ? `${extra.client} via ${hubPeer}` : hubPeer;
        new Gate(conn, shared, {
          isTls: useTls,
          address,
          authTimeoutMs: HANDSHAKE_TIMEOUT_MS,
          authenticated: true,
          handlers: role === 'control' ? { 'longreach/openSession': (a) => openSession(a) } : {},
        });
        resolve(conn);
      };
      conn.on('message', onMessage);
      conn.send({ type: 'request', command: 'longreach/agentHello', arguments: { longreachProtocol: PROTOCOL_VERSION, nonce: agentNonce.toString('base64') } });
    });
  };

  const openSession = (args: Record<string, unknown>): unknown => {
    const ticket = args.ticket;
    if (typeof ticket !== 'string' || !TICKET.test(ticket)) throw new LongreachError('LR_BAD_REQUEST', 'longreach/openSession needs a "ticket" of 16-64 URL-safe base64 characters');
    if (sessions >= MAX_SESSIONS) throw new LongreachError('LR_BAD_REQUEST', `this agent already has ${MAX_SESSIONS} sessions through the hub open; close one first`);
    const client = typeof args.client === 'string' ? args.client.slice(0, 200) : undefined;
    sessions += 1;
    dial('session', { ticket, ...(client !== undefined ? { client } : {}) }).then(
      (conn) => conn.on('close', () => (sessions -= 1)),
      (err: Error) => {
        sessions -= 1;
        log(err instanceof HubRefused ? 'auth' : 'agent', `session connection to the hub ${hubPeer} failed: ${err.message}`);
      },
    );
    return {};
  };

  const schedule = (ms: number): void => {
    if (closed) return;
    const wait = Math.round(ms * (0.5 + Math.random() / 2));
    timer = setTimeout(attempt, wait);
    timer.unref();
  };

  const attempt = (): void => {
    timer = null;
    if (closed) return;
    dial('control').then(
      (conn) => {
        if (closed) return conn.destroy();
        log('agent', `connected to the hub ${hubPeer}`);
        control = conn;
        delay = minDelay;
        conn.on('close', () => {
          control = null;
          log('agent', `connection to the hub ${hubPeer} closed; dialing again`);
          schedule(delay);
          delay = Math.min(delay * 2, maxDelay);
        });
      },
      (err: Error) => {
        if (err instanceof HubRefused) {
          log('auth', `hub ${hubPeer} refused: ${err.message}; retrying in about ${refusedDelay / 1000} s`);
          schedule(refusedDelay);
        } else {
          log('agent', `cannot reach the hub ${hubPeer}: ${err.message}; retrying in about ${delay / 1000} s`);
          schedule(delay);
          delay = Math.min(delay * 2, maxDelay);
        }
      },
    );
  };

  attempt();
  return {
    host,
    port,
    connected: () => control !== null,
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
    },
  };
}

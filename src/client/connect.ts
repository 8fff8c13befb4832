// connect(): qualifier → socket (TCP, or TLS trusted per docs/protocol.md section 6) → initialize →
// mutual authentication → a ready DapSession. Every step has a bounded wait and a typed error.

import { connect as netConnect, type Socket } from 'node:net';
import { computeProof, proofMatches } from '../protocol/auth.js';
import { randomBytes } from 'node:crypto';
import { DapConnection } from '../protocol/connection.js';
import { DEFAULT_BODY_LIMIT } from '../protocol/framing.js';
import { LongreachError } from '../protocol/errors.js';
import { formatAddress, formatQualifier, parseQualifier, type Qualifier } from '../protocol/qualifier.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { connectTls, mapTlsConnectError, type TrustDecider } from '../protocol/trust.js';
import { DapSession, DEFAULT_TIMEOUT_MS } from './session.js';

export interface ConnectOptions {
  /** The secret, when it does not come in the qualifier (from a file or an environment variable). */
  secret?: string | null;
  /** Bound on every wait: connecting, the TLS handshake, each handshake request (default 10 s). */
  timeoutMs?: number;
  /** TLS trust: asked about an unknown certificate (only pass one when a person can answer). */
  decide?: TrustDecider;
  /** known_hosts file (default: the user's config directory). */
  knownHostsPath?: string;
  /** TLS options that override the qualifier's query parameters. */
  ca?: string;
  fingerprint?: string;
  insecure?: boolean;
  /** Receives warnings a person must see (e.g. `?insecure=1`). */
  onWarning?: (message: string) => void;
  /** Receives lines that say what the client is doing on its own (e.g. waiting out a short throttle). */
  onNotice?: (message: string) => void;
  /** Where `secret` came from, named when the agent says it did not match (e.g. "--secret-env LR_SECRET"). */
  secretSource?: string;
  /** The longest throttle (LR_THROTTLED) waited out before trying again (default 2 s; 0: never wait). */
  maxThrottleWaitMs?: number;
  clientName?: string;
  /** Frame body limit once the server is authenticated (default 16 MiB; 64 KiB before). */
  bodyLimit?: number;
}

/** What the server said about itself in the handshake. */
export interface ServerHello {
  /** The `longreach` object, or null for a plain DAP server (debugpy and the like). */
  longreach: { protocol: number; agent: string; auth: string } | null;
  capabilities: Record<string, unknown>;
}

export interface ClientSession extends DapSession {
  readonly hello: ServerHello;
  readonly qualifier: Qualifier;
}

/** The longest throttle a client waits out by itself (protocol section 4.5). */
export const MAX_THROTTLE_WAIT_MS = 2000;

export async function connect(target: string | Qualifier, options: ConnectOptions = {}): Promise<ClientSession> {
  const q = typeof target === 'string' ? parseQualifier(target) : target;
  const limit = options.maxThrottleWaitMs ?? MAX_THROTTLE_WAIT_MS;
  let waited = 0;
  for (;;) {
    try {
      return await connectOnce(q, options);
    } catch (err) {
      const wait = err instanceof LongreachError && err.code === 'LR_THROTTLED' ? retryAfterMs(err) : null;
      if (wait === null || waited + wait > limit) throw err;
      options.onNotice?.(`${formatQualifier(q)}: too many failed attempts from this address; waiting ${(wait / 1000).toFixed(1)} s before trying again`);
      await new Promise((resolve) => setTimeout(resolve, wait + 20));
      waited += wait;
    }
  }
}

function retryAfterMs(err: LongreachError): number | null {
  const given = err.details.retryAfterMs;
  if (typeof given === 'number' && Number.isFinite(given) && given >= 0) return given;
  const said = /retry in (\d+(?:\.\d+)?) s/.exec(err.message);
  return said ? Math.ceil(Number(said[1]) * 1000) : null;
}

async function connectOnce(q: Qualifier, options: ConnectOptions): Promise<ClientSession> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const shown = formatQualifier(q);
  const secret = options.secret !== undefined && options.secret !== null ? options.secret : q.secret;
  const socket = await openSocket(q, options, timeoutMs);
  const conn = new DapConnection(socket, { peer: formatAddress(q.host, q.port) });
  const session = new DapSession(conn, { target: shown, timeoutMs });
  try {
    const hello = await handshake(session, q, secret, options, shown);
    if (q.pid !== undefined) await selectProcess(session, hello, q.pid);
    // The server is now known (or was accepted without a secret): lift the small pre-authentication frame limit.
    conn.bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    return Object.assign(session, { hello, qualifier: q });
  } catch (err) {
    session.close();
    conn.destroy();
    throw err;
  }
}

async function handshake(session: DapSession, q: Qualifier, secret: string | null, options: ConnectOptions, shown: string): Promise<ServerHello> {
  const clientNonce = randomBytes(32);
  let capabilities: Record<string, unknown>;
  try {
    capabilities = (await session.request('initialize', {
      clientID: 'longreach',
      clientName: options.clientName ?? 'Longreach',
      adapterID: 'longreach',
      pathFormat: 'path',
      linesStartAt1: true,
      columnsStartAt1: true,
      supportsVariableType: true,
      supportsVariablePaging: true,
      supportsProgressReporting: false,
      longreachProtocol: PROTOCOL_VERSION,
    })) ?? {};
  } catch (err) {
    throw explainFirstFailure(err, q, shown);
  }
  const longreach = capabilities.longreach as { protocol?: unknown; agent?: unknown; auth?: unknown; nonce?: unknown } | undefined;
  if (!longreach || typeof longreach !== 'object') {
    if (secret !== null) {
      throw new LongreachError('LR_NOT_LONGREACH', `${shown} is a plain DAP server without Longreach authentication; it cannot check a secret (leave the secret out only if you trust the network)`);
    }
    return { longreach: null, capabilities };
  }
  if (longreach.protocol !== PROTOCOL_VERSION) {
    throw new LongreachError('LR_VERSION_MISMATCH', `${shown} speaks Longreach protocol ${String(longreach.protocol)}, this client speaks protocol ${PROTOCOL_VERSION}; upgrade the older side`);
  }
  const hello: ServerHello = { longreach: { protocol: PROTOCOL_VERSION, agent: String(longreach.agent ?? ''), auth: String(longreach.auth ?? '') }, capabilities };
  if (longreach.auth === 'none') return hello;
  if (longreach.auth !== 'hmac-sha256' || typeof longreach.nonce !== 'string') {
    throw new LongreachError('LR_NOT_LONGREACH', `${shown} asked for an unknown authentication scheme ${JSON.stringify(longreach.auth)}`);
  }
  if (secret === null) {
    throw new LongreachError('LR_SECRET_REQUIRED', `${shown} needs a secret: put it before @ (tcp://SECRET@${formatAddress(q.host, q.port)}) or pass it from a file or environment variable`);
  }
  const serverNonce = Buffer.from(longreach.nonce, 'base64');
  let body: { serverProof?: unknown } | undefined;
  try {
    body = await session.request<{ serverProof?: unknown } | undefined>('authenticate', {
      clientNonce: clientNonce.toString('base64'),
      proof: computeProof(secret, 'client', serverNonce, clientNonce),
    });
  } catch (err) {
    if (err instanceof LongreachError && err.code === 'LR_AUTH_FAILED') {
      // the agent cannot know where our secret came from; we do
      const source = options.secret !== undefined && options.secret !== null ? (options.secretSource ?? 'the secret you gave') : 'the part before @ in the qualifier';
      throw new LongreachError('LR_AUTH_FAILED', `secret did not match (check ${source})`);
    }
    throw err;
  }
  if (!proofMatches(computeProof(secret, 'server', serverNonce, clientNonce), body?.serverProof)) {
    throw new LongreachError('LR_AUTH_FAILED', `${shown} does not know the secret (its proof did not match): it may not be the server you meant`);
  }
  return hello;
}

/** `?pid=`: ask the gateway or hub for that process (docs/protocol.md 5.3); from here the connection is that process's. */
async function selectProcess(session: DapSession, hello: ServerHello, pid: number): Promise<void> {
  if (!hello.longreach) throw new LongreachError('LR_NOT_LONGREACH', 'a plain DAP server cannot select a process: leave ?pid= out');
  const body = await session.request<{ capabilities?: unknown; agent?: unknown } | undefined>('longreach/selectProcess', { pid });
  const caps = body?.capabilities;
  if (caps && typeof caps === 'object' && !Array.isArray(caps)) hello.capabilities = { ...(caps as Record<string, unknown>) };
  // through a hub, the hello named the hub: from here on the session speaks with the selected process's agent
  if (typeof body?.agent === 'string' && body.agent !== '') hello.longreach.agent = body.agent;
}

/** A failure before the first answer usually means the other end is not what the qualifier says. */
function explainFirstFailure(err: unknown, q: Qualifier, shown: string): unknown {
  if (!(err instanceof LongreachError)) return err;
  if (err.code === 'LR_TLS_MISMATCH' || (q.scheme === 'tcp' && err.message.includes('speaking TLS'))) {
    return new LongreachError('LR_TLS_MISMATCH', `${shown} speaks TLS; use tcps:// instead of tcp://`);
  }
  if (err.code === 'LR_BAD_FRAME' || err.code === 'LR_BAD_MESSAGE' || (err.code === 'LR_CLOSED' && err.message.includes('malformed frame'))) {
    return new LongreachError('LR_NOT_LONGREACH', `${shown} did not answer in DAP: it is not a Longreach agent (${err.message})`);
  }
  if (err.code === 'LR_CLOSED' && q.scheme === 'tcp') {
    return new LongreachError('LR_CLOSED', `${shown} closed the connection before answering initialize; if it serves TLS, use tcps://`);
  }
  return err;
}

async function openSocket(q: Qualifier, options: ConnectOptions, timeoutMs: number): Promise<Socket> {
  if (q.scheme === 'tcps') {
    const ca = options.ca ?? q.ca;
    const fingerprint = options.fingerprint ?? q.fingerprint;
    const result = await connectTls({
      host: q.host,
      port: q.port,
      timeoutMs,
      ...(ca !== undefined ? { ca } : {}),
      ...(fingerprint !== undefined ? { fingerprint } : {}),
      insecure: options.insecure ?? q.insecure,
      ...(options.knownHostsPath !== undefined ? { knownHostsPath: options.knownHostsPath } : {}),
      ...(options.decide !== undefined ? { decide: options.decide } : {}),
    });
    if (result.warning) options.onWarning?.(result.warning);
    return result.socket;
  }
  const where = formatAddress(q.host, q.port);
  return new Promise<Socket>((resolve, reject) => {
    const socket = netConnect({ host: q.host, port: q.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LongreachError('LR_TIMEOUT', `no connection to ${where} within ${timeoutMs / 1000} s (is the host up and the port open?)`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(mapTlsConnectError(err, q.host, q.port));
    });
  });
}

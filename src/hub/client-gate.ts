// A client's connection to the hub: the usual gate (docs/protocol.md sections 3-4: initialize, mutual
// authentication, throttling), listing every connected agent's processes (section 5.3), and
// `longreach/selectProcess`, after which the connection is relayed, message by message and unchanged, to a fresh
// session connection of the agent that reaches that process.

import { computeProof, decodeNonce, makeNonce, proofMatches, AUTH_SCHEME } from '../protocol/auth.js';
import type { DapConnection } from '../protocol/connection.js';
import { LongreachError, toErrorBody } from '../protocol/errors.js';
import { DEFAULT_BODY_LIMIT, encodeFrame, type DapMessage } from '../protocol/framing.js';
import { log, logWire } from '../protocol/log.js';
import { PACKAGE_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';
import { nodeProcessInfo } from '../server/process-info.js';
import type { Throttle } from '../server/throttle.js';
import type { AgentRegistry } from './agents.js';
import { Requester } from './requester.js';

export interface ClientGateOptions {
  secret: string;
  throttle: Throttle;
  registry: AgentRegistry;
  authTimeoutMs: number;
  onEvent: (line: string) => void;
}

const HUB_CAPABILITIES = { supportsConfigurationDoneRequest: true };

export class ClientGate {
  readonly #conn: DapConnection;
  readonly #options: ClientGateOptions;
  readonly #ip: string;
  #nonce: Buffer | null = null;
  #initArgs: Record<string, unknown> = {};
  #initialized = false;
  #authenticated = false;
  #selecting = false;
  #queued: DapMessage[] = [];
  #agent: DapConnection | null = null;
  readonly #deadline: NodeJS.Timeout;

  constructor(conn: DapConnection, options: ClientGateOptions, ip: string, first: DapMessage) {
    this.#conn = conn;
    this.#options = options;
    this.#ip = ip;
    this.#deadline = setTimeout(() => {
      if (!this.#authenticated) conn.fail(new LongreachError('LR_TIMEOUT', `no authentication within ${options.authTimeoutMs / 1000} s of connecting; connect again`));
    }, options.authTimeoutMs);
    conn.on('message', (message) => this.#onMessage(message));
    conn.on('close', () => {
      clearTimeout(this.#deadline);
      this.#agent?.close();
    });
    this.#onMessage(first);
  }

  #onMessage(message: DapMessage): void {
    if (this.#agent) return forward(message, this.#conn, this.#agent);
    if (this.#selecting) {
      this.#queued.push(message);
      return;
    }
    if (message.type !== 'request' || typeof message.command !== 'string') return;
    const args = message.arguments !== null && typeof message.arguments === 'object' ? (message.arguments as Record<string, unknown>) : {};
    let result: unknown;
    try {
      result = this.#dispatch(message.command, args);
    } catch (err) {
      this.#respondError(message, err);
      return;
    }
    if (result instanceof Promise) result.then((body) => this.#respond(message, body), (err) => this.#respondError(message, err));
    else this.#respond(message, result);
  }

  #dispatch(command: string, args: Record<string, unknown>): unknown {
    switch (command) {
      case 'initialize':
        return this.#initialize(args);
      case 'authenticate':
        return this.#authenticate(args);
      case 'disconnect':
        setImmediate(() => this.#conn.close());
        return undefined;
      case 'longreach/processInfo':
        this.#requireAuth();
        return this.#processInfo();
      case 'longreach/selectProcess':
        this.#requireAuth();
        return this.#select(args);
      default: {
        this.#requireAuth();
        const count = this.#options.registry.size;
        throw new LongreachError('LR_BAD_REQUEST', `this address is a Longreach hub (${count} agent${count === 1 ? '' : 's'} connected): name the process with ?pid=PID in the qualifier before ${command} (see longreach list)`);
      }
    }
  }

  #initialize(args: Record<string, unknown>): unknown {
    if (this.#initialized) throw new LongreachError('LR_BAD_REQUEST', 'initialize may be sent only once per connection');
    const theirs = args.longreachProtocol;
    if (theirs !== undefined && theirs !== PROTOCOL_VERSION) {
      setImmediate(() => this.#conn.close());
      throw new LongreachError('LR_VERSION_MISMATCH', `client speaks Longreach protocol ${String(theirs)}, this hub speaks protocol ${PROTOCOL_VERSION}; upgrade the older side`);
    }
    this.#initialized = true;
    this.#initArgs = { ...args };
    this.#nonce = makeNonce();
    return { ...HUB_CAPABILITIES, longreach: { protocol: PROTOCOL_VERSION, agent: `longreach-hub ${PACKAGE_VERSION}`, auth: AUTH_SCHEME, nonce: this.#nonce.toString('base64') } };
  }

  #authenticate(args: Record<string, unknown>): unknown {
    if (!this.#initialized) throw new LongreachError('LR_BAD_REQUEST', 'send initialize first, then authenticate');
    if (this.#authenticated) throw new LongreachError('LR_BAD_REQUEST', 'this connection is already authenticated');
    const wait = this.#options.throttle.retryAfter(this.#ip);
    if (wait > 0) {
      setImmediate(() => this.#conn.close());
      throw new LongreachError('LR_THROTTLED', `too many failed attempts from ${this.#ip}; retry in ${(wait / 1000).toFixed(1)} s`, { details: { retryAfterMs: wait } });
    }
    const serverNonce = this.#nonce;
    this.#nonce = null;
    if (!serverNonce) {
      setImmediate(() => this.#conn.close());
      throw new LongreachError('LR_AUTH_FAILED', 'this connection already used its one authentication attempt; connect again');
    }
    const clientNonce = decodeNonce(args.clientNonce);
    if (!clientNonce) throw new LongreachError('LR_BAD_REQUEST', 'authenticate needs clientNonce: base64 of 16-64 random bytes');
    const secret = this.#options.secret;
    if (!proofMatches(computeProof(secret, 'client', serverNonce, clientNonce), args.proof)) {
      this.#options.throttle.failed(this.#ip);
      log('auth', `client ${this.#conn.peer} failed authentication`);
      this.#options.onEvent(`refused a client from ${this.#conn.peer}: wrong secret`);
      setImmediate(() => this.#conn.close());
      throw new LongreachError('LR_AUTH_FAILED', 'secret did not match (check the part before @ in the qualifier)');
    }
    this.#authenticated = true;
    clearTimeout(this.#deadline);
    this.#options.throttle.succeeded(this.#ip);
    this.#conn.bodyLimit = DEFAULT_BODY_LIMIT;
    return { serverProof: computeProof(secret, 'server', serverNonce, clientNonce) };
  }

  async #processInfo(): Promise<unknown> {
    const processes = await this.#options.registry.list();
    return { ...nodeProcessInfo(null), agent: 'longreach-hub', processes };
  }

  async #select(args: Record<string, unknown>): Promise<unknown> {
    const pid = args.pid;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) throw new LongreachError('LR_BAD_REQUEST', 'longreach/selectProcess needs {"pid": <positive integer>}');
    this.#selecting = true;
    let agent: DapConnection | null = null;
    try {
      const link = await this.#options.registry.route(pid);
      agent = await this.#options.registry.openSession(link, this.#conn.peer);
      const requester = new Requester(agent, `the agent of process ${pid}`);
      const { longreachProtocol: _v, ...initArgs } = this.#initArgs;
      const hello = await requester.request<Record<string, unknown>>('initialize', { ...initArgs, longreachProtocol: PROTOCOL_VERSION });
      let capabilities: Record<string, unknown>;
      // the agent's own name (a child reached through a job's gateway runs the same agent as its root)
      const agentName = (hello.longreach as { agent?: unknown } | undefined)?.agent;
      if (pid === link.pid) {
        const { longreach: _l, ...rest } = hello;
        capabilities = rest;
      } else {
        const body = await requester.request<{ capabilities?: Record<string, unknown> }>('longreach/selectProcess', { pid });
        capabilities = body.capabilities ?? {};
      }
      requester.detach();
      if (this.#conn.closed) {
        agent.close();
        return undefined;
      }
      this.#bind(agent);
      this.#options.onEvent(`client ${this.#conn.peer} selected pid ${pid}`);
      return typeof agentName === 'string' ? { capabilities, agent: agentName } : { capabilities };
    } catch (err) {
      agent?.close();
      this.#selecting = false;
      const queued = this.#queued;
      this.#queued = [];
      setImmediate(() => queued.forEach((m) => this.#onMessage(m)));
      throw err;
    }
  }

  /** From now on this connection belongs to the agent's session connection, in both directions. */
  #bind(agent: DapConnection): void {
    agent.on('message', (message) => forward(message, agent, this.#conn));
    agent.on('close', () => this.#conn.close());
    // Set after the selectProcess response is written (respond() runs first), so the order on the wire holds.
    setImmediate(() => {
      this.#agent = agent;
      this.#selecting = false;
      const queued = this.#queued;
      this.#queued = [];
      for (const message of queued) forward(message, this.#conn, agent);
    });
  }

  #requireAuth(): void {
    if (!this.#authenticated) throw new LongreachError('LR_AUTH_REQUIRED', 'authentication required: send authenticate after initialize');
  }

  #respond(request: DapMessage, body: unknown): void {
    const response: Record<string, unknown> = { type: 'response', request_seq: request.seq, success: true, command: request.command };
    if (body !== undefined && body !== null) response.body = body;
    this.#conn.send(response as { type: string });
  }

  #respondError(request: DapMessage, err: unknown): void {
    const error = err instanceof LongreachError ? err : new LongreachError('LR_INTERNAL', `internal error in the hub while handling ${String(request.command)}: ${(err as Error)?.message ?? String(err)}`);
    if (!(err instanceof LongreachError)) log('hub', `internal error: ${(err as Error)?.stack ?? String(err)}`);
    this.#conn.send({ type: 'response', request_seq: request.seq, success: false, command: request.command, message: error.code, body: toErrorBody(error) });
  }
}

/** Relays one message unchanged (its seq included), pausing the sender while the receiver's buffer is full. */
function forward(message: DapMessage, from: DapConnection, to: DapConnection): void {
  if (to.closed || to.socket.destroyed) return;
  logWire('->', to.peer, message);
  if (!to.socket.write(encodeFrame(message))) {
    from.socket.pause();
    to.socket.once('drain', () => from.socket.resume());
  }
}

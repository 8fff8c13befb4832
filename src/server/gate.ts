// One server-side connection: the authentication gate (docs/protocol.md section 4.4), the one-session
// policy (section 5), and the hand-over of every later request to the debug session. Handlers return a
// body or throw; this file turns both into responses, so no request can go unanswered.

import { computeProof, decodeNonce, makeNonce, proofMatches, secretsEqual, AUTH_SCHEME } from '../protocol/auth.js';
import type { DapConnection } from '../protocol/connection.js';
import { LongreachError, toErrorBody } from '../protocol/errors.js';
import type { DapMessage, OutgoingMessage } from '../protocol/framing.js';
import { log } from '../protocol/log.js';
import { PACKAGE_VERSION, PROTOCOL_VERSION } from '../protocol/version.js';
import type { ProcessInfo } from './process-info.js';
import type { Throttle } from './throttle.js';

export interface SessionContext {
  peer: string;
  isTls: boolean;
  /** Sends an event to the attached client; false when the connection is gone. */
  sendEvent(event: string, body?: unknown): boolean;
  /** The client selected this process by its pid (?pid=): it debugs this process alone, not its job. */
  selected?: boolean;
}

/** The client side of a connection that selected another process of a job (docs/protocol.md 5.3). */
export interface JobClient {
  peer: string;
  /** Sends a message to the client (the connection numbers it). */
  send(message: OutgoingMessage): void;
  close(): void;
}

/** Carries every later message of a connection that selected another process to that process. */
export interface JobRelay {
  toChild(message: DapMessage): void;
  /** The client went away: end the process's session. */
  close(): void;
}

/** A job's gateway, plugged in by the agent (docs/protocol.md 5.3): the other processes this address reaches. */
export interface GateJob {
  /**
   * The listing's answer from this process's own: with `processes` once the job has other processes. `wake` false:
   * list without waking the job (a hub registering this agent, not a client asking for the job).
   */
  processInfo(own: ProcessInfo, wake: boolean): ProcessInfo | Promise<ProcessInfo>;
  /** Opens a session with process `pid` (not this one) for a client; rejects with LR_NO_SUCH_PROCESS outside the job. */
  select(pid: number, client: JobClient): Promise<{ capabilities: Record<string, unknown>; relay: JobRelay }>;
}

/** What an agent plugs into the server core: the DAP side of one attached debugger. */
export interface DebugSessionHandler {
  /** Called for `attach` first, then for every later request. Returns the response body or throws. */
  handle(command: string, args: Record<string, unknown>): unknown;
  /** Called right after the `attach` response was sent (send `initialized` here). */
  started?(): void;
  /** Detach: remove breakpoints, resume, stop tracing. Called exactly once. */
  close(): void | Promise<void>;
  /** `disconnect` with terminateDebuggee: end the program. */
  terminate?(): void | Promise<void>;
}

export type SessionFactory = (context: SessionContext) => DebugSessionHandler;
/** Loads what the factory needs, once: a promise while that is under way, null when it is done. */
export type SessionPreparer = () => Promise<void> | null;

/** State the gate shares with the listener: one per server. */
export interface GateShared {
  secret: string | null;
  allowPlainSecret: boolean;
  bodyLimit: number;
  agentName: string;
  capabilities: Record<string, unknown>;
  throttle: Throttle;
  processInfo(attached: ProcessInfo['attached']): ProcessInfo;
  createSession: SessionFactory;
  /** An agent that loads its debug session's code at the first attach, not at start, says so here. */
  prepareSession: SessionPreparer | null;
  attached: { gate: Gate; address: string; since: string } | null;
  /** Settles once every session being closed has finished closing; null when none is. */
  closing: Promise<void> | null;
  /** This process's job, when it is a job's root (docs/protocol.md 5.3). */
  job: GateJob | null;
}

/** Requests a connection may send before it authenticates (docs/protocol.md section 4.6). */
export const MAX_PENDING_REQUESTS = 16;

interface Request extends DapMessage {
  command: string;
  arguments?: Record<string, unknown>;
}

/** Requests a connection answers beyond the gate's own (reverse connect: the hub's `longreach/openSession`). */
export type ExtraHandlers = Record<string, (args: Record<string, unknown>) => unknown>;

export interface GateOptions {
  isTls: boolean;
  address: string;
  authTimeoutMs: number;
  /** The connection was authenticated before the gate saw it (an agent's dialed connection, docs/protocol.md 11). */
  authenticated?: boolean;
  handlers?: ExtraHandlers;
  /** Called once when the connection authenticates (it gives back its place at the gate). */
  onAuthenticated?: () => void;
}

export class Gate {
  readonly #conn: DapConnection;
  readonly #shared: GateShared;
  readonly #isTls: boolean;
  readonly #address: string;
  #nonce: Buffer | null = null;
  #nonceUsed = false;
  #initialized = false;
  #authenticated = false;
  #session: DebugSessionHandler | null = null;
  #deadline: NodeJS.Timeout;
  /** Set by a handler whose reply must be the connection's last message. */
  #closeAfterReply = false;
  /** Runs after the next successful reply (the attach response precedes `initialized`). */
  #afterReply: (() => void) | null = null;
  #pendingRequests = 0;
  #gone = false;
  /** Set while an attach waits for the last session to finish closing, or for the session's code to load. */
  #opening = false;
  /** Settles when the attach under way has been answered (either way); null when none is. */
  #attaching: Promise<void> | null = null;
  readonly #onAuthenticated: (() => void) | undefined;
  readonly #handlers: ExtraHandlers;
  /** Set once the client selected another process of the job: everything goes there. */
  #relay: JobRelay | null = null;
  /** The client selected this very process (?pid=): its session is this process alone. */
  #selected = false;

  constructor(conn: DapConnection, shared: GateShared, { isTls, address, authTimeoutMs, authenticated = false, handlers = {}, onAuthenticated }: GateOptions) {
    this.#conn = conn;
    this.#onAuthenticated = onAuthenticated;
    this.#shared = shared;
    this.#isTls = isTls;
    this.#address = address;
    this.#handlers = handlers;
    this.#authenticated = authenticated;
    if (authenticated) conn.bodyLimit = shared.bodyLimit;
    this.#deadline = setTimeout(() => {
      if (!this.#authenticated) this.#conn.fail(new LongreachError('LR_TIMEOUT', `no authentication within ${authTimeoutMs / 1000} s of connecting; connect again`));
    }, authTimeoutMs).unref();
    conn.on('message', (message) => this.#onMessage(message));
    conn.on('close', () => this.#onClose());
  }

  #onMessage(message: DapMessage): void {
    if (this.#relay) {
      this.#relay.toChild(message);
      return;
    }
    if (message.type !== 'request' || typeof message.command !== 'string') return;
    const request = message as Request;
    if (!this.#authenticated && ++this.#pendingRequests > MAX_PENDING_REQUESTS) {
      this.#conn.fail(new LongreachError('LR_BAD_REQUEST', `more than ${MAX_PENDING_REQUESTS} requests before authenticating; send initialize, then authenticate`));
      return;
    }
    const args = request.arguments !== null && typeof request.arguments === 'object' ? request.arguments : {};
    let result: unknown;
    try {
      result = this.#dispatch(request.command, args);
    } catch (err) {
      this.#respondError(request, err);
      return;
    }
    if (result instanceof Promise) {
      result.then((body) => this.#respond(request, body), (err) => this.#respondError(request, err));
    } else {
      this.#respond(request, result);
    }
  }

  #dispatch(command: string, args: Record<string, unknown>): unknown {
    switch (command) {
      case 'initialize':
        return this.#initialize(args);
      case 'authenticate':
        return this.#authenticate(args);
      case 'attach':
        return this.#attach(args);
      case 'disconnect':
        return this.#disconnect(args);
      case 'longreach/processInfo':
        this.#requireAuth();
        // {"wake": false}: a hub registering this agent, not a client asking for the job (docs/protocol.md 5.3)
        return this.#shared.job ? this.#shared.job.processInfo(this.#shared.processInfo(this.#attachedInfo()), args.wake !== false) : this.#shared.processInfo(this.#attachedInfo());
      case 'longreach/selectProcess':
        this.#requireAuth();
        return this.#selectProcess(args);
      default: {
        this.#requireAuth();
        const extra = Object.hasOwn(this.#handlers, command) ? this.#handlers[command] : undefined;
        if (extra) return extra(args);
        // requests sent right behind an attach that is still under way (the last session closing, the session's code
        // loading) wait for it, in order
        if (!this.#session && this.#attaching) return this.#attaching.then(() => this.#dispatch(command, args));
        if (!this.#session) throw new LongreachError('LR_BAD_REQUEST', `${command} needs an attached debugger: send attach first`);
        return this.#session.handle(command, args);
      }
    }
  }

  /** docs/protocol.md 5.3: a client that names a process (?pid=) asks for it before attach. */
  #selectProcess(args: Record<string, unknown>): unknown {
    const pid = args.pid;
    if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) {
      throw new LongreachError('LR_BAD_REQUEST', 'longreach/selectProcess needs {"pid": <positive integer>}');
    }
    if (this.#session) throw new LongreachError('LR_BAD_REQUEST', 'select the process before attach');
    if (pid !== process.pid && this.#shared.job) {
      const client = { peer: this.#address, send: (m: OutgoingMessage) => void this.#conn.send(m), close: () => this.#conn.close() };
      return this.#shared.job.select(pid, client).then(({ capabilities, relay }) => {
        if (this.#gone) {
          relay.close();
          throw new LongreachError('LR_CLOSED', 'the connection closed while the process was being selected');
        }
        this.#relay = relay;
        return { capabilities };
      });
    }
    if (pid !== process.pid) {
      throw new LongreachError('LR_NO_SUCH_PROCESS', `no process ${pid} is reachable through this address; its processes: ${process.pid} (see longreach list)`);
    }
    this.#selected = true;
    return { capabilities: { ...this.#shared.capabilities } };
  }

  #initialize(args: Record<string, unknown>): unknown {
    if (this.#initialized) throw new LongreachError('LR_BAD_REQUEST', 'initialize may be sent only once per connection');
    const theirs = args.longreachProtocol;
    if (theirs !== undefined && theirs !== PROTOCOL_VERSION) {
      this.#closeAfterReply = true;
      throw new LongreachError('LR_VERSION_MISMATCH', `client speaks Longreach protocol ${String(theirs)}, this agent speaks protocol ${PROTOCOL_VERSION}; upgrade the older side`);
    }
    this.#initialized = true;
    const longreach: Record<string, unknown> = { protocol: PROTOCOL_VERSION, agent: `${this.#shared.agentName} ${PACKAGE_VERSION}` };
    if (this.#shared.secret === null) {
      longreach.auth = 'none';
    } else {
      this.#nonce = makeNonce();
      longreach.auth = AUTH_SCHEME;
      longreach.nonce = this.#nonce.toString('base64');
    }
    return { ...this.#shared.capabilities, longreach };
  }

  #authenticate(args: Record<string, unknown>): unknown {
    if (!this.#initialized) throw new LongreachError('LR_BAD_REQUEST', 'send initialize first, then authenticate');
    if (this.#authenticated) throw new LongreachError('LR_BAD_REQUEST', 'this connection is already authenticated');
    const secret = this.#shared.secret;
    if (secret === null) {
      this.#authSucceeded();
      return {};
    }
    const clientNonce = decodeNonce(args.clientNonce);
    if (!clientNonce) throw new LongreachError('LR_BAD_REQUEST', 'authenticate needs clientNonce: base64 of 16-64 random bytes');
    const serverNonce = this.#takeNonce();
    const ok = proofMatches(computeProof(secret, 'client', serverNonce, clientNonce), args.proof);
    if (!ok) this.#authFailed('proof did not match');
    this.#authSucceeded();
    return { serverProof: computeProof(secret, 'server', serverNonce, clientNonce) };
  }

  #attach(args: Record<string, unknown>): unknown {
    const result = this.#attachNow(args);
    if (result instanceof Promise) {
      const settled = result.then(
        () => undefined,
        () => undefined,
      );
      this.#attaching = settled;
      void settled.then(() => {
        if (this.#attaching === settled) this.#attaching = null;
      });
    }
    return result;
  }

  #attachNow(args: Record<string, unknown>): unknown {
    if (!this.#authenticated) {
      if (!this.#initialized) throw new LongreachError('LR_BAD_REQUEST', 'send initialize first, then attach');
      const secret = this.#shared.secret;
      if (secret === null) {
        this.#authSucceeded();
      } else if (args.secret === undefined) {
        throw this.#authRequired();
      } else {
        if (!this.#isTls && !this.#shared.allowPlainSecret) {
          this.#closeAfterReply = true;
          throw new LongreachError('LR_INSECURE_SECRET', 'refusing a secret sent in clear over tcp://; use tcps:// or the authenticate request');
        }
        this.#takeNonce();
        if (!secretsEqual(secret, args.secret)) this.#authFailed('secret in attach did not match', 'secret did not match (check the "secret" attach argument)');
        this.#authSucceeded();
      }
    }
    if (this.#session || this.#opening) throw new LongreachError('LR_BAD_REQUEST', 'this connection is already attached');
    const current = this.#shared.attached;
    if (current && current.gate !== this) {
      throw new LongreachError('LR_ALREADY_ATTACHED', `already attached by ${current.address} since ${current.since}; detach that debugger first`);
    }
    const { secret: _secret, ...rest } = args;
    const closing = this.#shared.closing;
    if (closing) {
      // The last session is still detaching (its close is asynchronous): a session opened now would have what
      // it set up undone by that teardown (its stop resumed, the Debugger domain switched off). Hold the slot
      // and open once the teardown is over.
      this.#shared.attached = { gate: this, address: this.#address, since: attachedSince() };
      this.#opening = true;
      return closing.then(() => {
        this.#opening = false;
        if (this.#gone) throw new LongreachError('LR_CLOSED', 'the connection closed while the last debugger was detaching');
        return this.#open(rest);
      });
    }
    return this.#open(rest);
  }

  #open(rest: Record<string, unknown>): unknown {
    const loading = this.#shared.prepareSession?.() ?? null;
    if (!loading) return this.#begin(rest);
    // the agent's session code is being loaded (the first attach): hold the slot meanwhile
    this.#shared.attached = { gate: this, address: this.#address, since: attachedSince() };
    this.#opening = true;
    const release = (): void => {
      this.#opening = false;
      if (this.#shared.attached?.gate === this && !this.#session) this.#shared.attached = null;
    };
    return loading.then(
      () => {
        release();
        if (this.#gone) throw new LongreachError('LR_CLOSED', 'the connection closed while the debug session was being loaded');
        return this.#begin(rest);
      },
      (err: unknown) => {
        release();
        throw new LongreachError('LR_INTERNAL', `the debug session could not be loaded: ${(err as Error)?.message ?? String(err)}`);
      },
    );
  }

  #begin(rest: Record<string, unknown>): unknown {
    const session = this.#shared.createSession({
      peer: this.#address,
      isTls: this.#isTls,
      selected: this.#selected,
      sendEvent: (event, body) => this.#conn.send(body === undefined ? { type: 'event', event } : { type: 'event', event, body }) !== 0,
    });
    this.#session = session;
    this.#shared.attached = { gate: this, address: this.#address, since: attachedSince() };
    log('server', `debugger attached from ${this.#address}`);
    this.#afterReply = () => session.started?.();
    const abandon = (err: unknown): never => {
      this.#afterReply = null;
      this.#onClose();
      throw err;
    };
    try {
      const result = session.handle('attach', rest);
      return result instanceof Promise ? result.catch(abandon) : result;
    } catch (err) {
      return abandon(err);
    }
  }

  #disconnect(args: Record<string, unknown>): unknown {
    this.#closeAfterReply = true;
    const session = this.#detach();
    if (session && args.terminateDebuggee === true && session.terminate) return this.#track(session.terminate());
    return this.#track(session?.close());
  }

  /** Records a session's (asynchronous) close in shared.closing, so the next attach waits for it. */
  #track<T>(done: T): T {
    if (!(done instanceof Promise)) return done;
    const settled = done.then(() => undefined, () => undefined);
    const previous = this.#shared.closing;
    const all = previous ? Promise.all([previous, settled]).then(() => undefined) : settled;
    this.#shared.closing = all;
    void all.then(() => {
      if (this.#shared.closing === all) this.#shared.closing = null;
    });
    return done;
  }

  #requireAuth(): void {
    if (!this.#authenticated) throw this.#authRequired();
  }

  #authRequired(): LongreachError {
    return new LongreachError('LR_AUTH_REQUIRED', 'authentication required: send authenticate after initialize');
  }

  #takeNonce(): Buffer {
    const ip = this.#ip();
    const wait = this.#shared.throttle.retryAfter(ip);
    if (wait > 0) {
      this.#closeAfterReply = true;
      throw new LongreachError('LR_THROTTLED', `too many failed attempts from ${ip}; retry in ${(wait / 1000).toFixed(1)} s`, { details: { retryAfterMs: wait } });
    }
    if (!this.#nonce || this.#nonceUsed) {
      this.#closeAfterReply = true;
      throw new LongreachError('LR_AUTH_FAILED', 'this connection already used its one authentication attempt; connect again');
    }
    this.#nonceUsed = true;
    return this.#nonce;
  }

  #authFailed(why: string, message = 'secret did not match (check the part before @ in the qualifier)'): never {
    const ip = this.#ip();
    this.#shared.throttle.failed(ip);
    log('auth', `authentication from ${this.#address} failed: ${why}`);
    this.#closeAfterReply = true;
    throw new LongreachError('LR_AUTH_FAILED', message);
  }

  #authSucceeded(): void {
    this.#authenticated = true;
    clearTimeout(this.#deadline);
    this.#shared.throttle.succeeded(this.#ip());
    this.#conn.bodyLimit = this.#shared.bodyLimit;
    this.#onAuthenticated?.();
    log('auth', `${this.#address} authenticated`);
  }

  #ip(): string {
    return this.#conn.socket.remoteAddress ?? this.#address;
  }

  #attachedInfo(): ProcessInfo['attached'] {
    const attached = this.#shared.attached;
    return attached ? { address: attached.address, since: attached.since } : null;
  }

  #respond(request: Request, body: unknown): void {
    const response: OutgoingMessage = { type: 'response', request_seq: request.seq, success: true, command: request.command };
    if (body !== undefined && body !== null) response.body = body;
    this.#conn.send(response);
    this.#finishReply(true);
  }

  #respondError(request: Request, err: unknown): void {
    let error: LongreachError;
    if (err instanceof LongreachError) {
      error = err;
    } else {
      log('server', `internal error in ${request.command}: ${(err as Error)?.stack ?? String(err)}`);
      error = new LongreachError('LR_INTERNAL', `internal error while handling ${request.command}: ${(err as Error)?.message ?? String(err)} (details in the LONGREACH_LOG=server log)`);
    }
    this.#conn.send({ type: 'response', request_seq: request.seq, success: false, command: request.command, message: error.code, body: toErrorBody(error) });
    this.#finishReply(false);
  }

  #finishReply(success: boolean): void {
    const after = success ? this.#afterReply : null;
    this.#afterReply = null;
    if (after) {
      try {
        after();
      } catch (err) {
        log('server', `session start failed: ${(err as Error)?.stack ?? String(err)}`);
      }
    }
    if (this.#closeAfterReply) this.#conn.close();
  }

  #detach(): DebugSessionHandler | null {
    const session = this.#session;
    this.#session = null;
    if (this.#shared.attached?.gate === this) {
      this.#shared.attached = null;
      log('server', `debugger from ${this.#address} detached`);
    }
    return session;
  }

  #onClose(): void {
    this.#gone = true;
    clearTimeout(this.#deadline);
    this.#relay?.close();
    const session = this.#detach();
    if (!session) return;
    try {
      const done = this.#track(session.close());
      if (done instanceof Promise) done.catch((err) => log('server', `detach failed: ${String(err)}`));
    } catch (err) {
      log('server', `detach failed: ${(err as Error)?.stack ?? String(err)}`);
    }
  }
}

function attachedSince(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// The editor bridge: a DAP debug adapter that an editor talks to (stdio or a local TCP socket). It answers
// `initialize` itself, turns `attach` into an authenticated, trusted connection made by the client library,
// and from then on relays every request, response and event unchanged except for sequence numbers.
//
// Ordering without buffering: responses come back as promise reactions, events as synchronous emits. An event
// is forwarded through queueMicrotask, which runs after the reactions of every response that arrived before it
// (one microtask queue, FIFO), so the editor sees the agent's order and nothing waits on a timer.
//
// Child sessions: for an editor that announced `supportsStartDebuggingRequest`, the attach to a job's root asks
// the agent for `childSessions` (docs/protocol.md 5.3); the agent then debugs the root alone and reports each
// other process with a `longreach/process` event, which the bridge turns into a `startDebugging` reverse request
// whose configuration attaches a new bridge session to that process alone (`?pid=`, childConfiguration()).

import type { Readable, Writable } from 'node:stream';
import { connect, type ClientSession } from '../client/connect.js';
import { LongreachError, toErrorBody } from '../protocol/errors.js';
import { DEFAULT_BODY_LIMIT, encodeFrame, FrameDecoder, type DapMessage } from '../protocol/framing.js';
import { logWire } from '../protocol/log.js';
import { maskSecrets } from '../protocol/qualifier.js';
import type { TrustDecider } from '../protocol/trust.js';
import { childConfiguration, forgetSharedSecret, planAttach, shareSecret, type AttachPlan } from './attach-args.js';
import { BRIDGE_CAPABILITIES } from './capabilities.js';

export interface BridgeOptions {
  env?: NodeJS.ProcessEnv;
  /** Asks a person about an unknown certificate (the VS Code modal). Without it an unknown certificate is an error. */
  decide?: TrustDecider;
  /** known_hosts file (default: $LONGREACH_KNOWN_HOSTS or the per-user file). */
  knownHostsPath?: string;
  /** A secret handed over out of band, see PlanContext.lookupSecret. */
  lookupSecret?: (args: Record<string, unknown>) => string | undefined;
  /**
   * Whether child sessions may reach this process's bridges (default true: VS Code's inline adapter, `--port`),
   * so a secret that is only in memory can be shared with them. False for stdio, one session per process.
   */
  sharesProcess?: boolean;
}

type State = 'new' | 'initialized' | 'attaching' | 'attached' | 'ended';

interface EditorRequest {
  seq: number;
  command: string;
  arguments?: unknown;
}

const PEER = 'editor';

/** A DAP message as the bridge sends it to the editor. */
export type EditorMessage = { seq: number; type: string; [key: string]: unknown };

/**
 * The bridge at the message level: `receive()` takes the editor's messages, `send` delivers ours. The stream
 * form (stdio, TCP) is bridgeStreams(); VS Code's inline adapter uses messages directly.
 */
export class Bridge {
  readonly #send: (message: EditorMessage) => void;
  readonly #options: BridgeOptions;
  #seq = 1;
  #state: State = 'new';
  #session: ClientSession | null = null;
  #plan: AttachPlan | null = null;
  /** Set when the editor asked to leave: the agent's close is then expected, not news. */
  #leaving = false;
  /** The editor said supportsStartDebuggingRequest. */
  #editorStartsSessions = false;
  /** This session asked the agent for child sessions; the editor's attach arguments, for their configurations. */
  #childSessions = false;
  #attachArgs: Record<string, unknown> = {};
  /** The id under which this session's secret is shared with its child sessions (shareSecret). */
  #sharedId: string | undefined;
  /** Our reverse requests (startDebugging) waiting for the editor's response, by seq. */
  readonly #reverse = new Map<number, (response: DapMessage) => void>();
  #terminatedSent = false;
  #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(send: (message: EditorMessage) => void, options: BridgeOptions = {}) {
    this.#send = send;
    this.#options = options;
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Resolves once the editor side has gone and the agent connection is closed. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** The editor is gone (or spoke garbage: `reason`): close the agent connection; the agent detaches. */
  end(reason?: string): void {
    if (this.#state === 'ended') return;
    if (reason !== undefined) this.#event('output', { category: 'stderr', output: `longreach dap: ${reason}; closing\n` });
    this.#state = 'ended';
    this.#leaving = true;
    this.#dropChildState();
    const session = this.#session;
    if (session && !session.closed) {
      session.close();
      void session.whenClosed().then(() => this.#resolveDone());
    } else {
      this.#resolveDone();
    }
  }

  /** One message from the editor. */
  receive(message: DapMessage): void {
    if (this.#state === 'ended') return;
    logWire('<-', PEER, message);
    this.#onMessage(message);
  }

  #onMessage(message: DapMessage): void {
    if (message.type === 'response' && typeof message.request_seq === 'number') {
      const done = this.#reverse.get(message.request_seq);
      this.#reverse.delete(message.request_seq);
      done?.(message);
      return;
    }
    if (message.type !== 'request' || typeof message.command !== 'string') return; // events from the editor: none expected
    const request = message as unknown as EditorRequest;
    try {
      this.#dispatch(request);
    } catch (err) {
      this.#fail(request, err);
    }
  }

  #dispatch(request: EditorRequest): void {
    switch (request.command) {
      case 'initialize':
        return this.#initialize(request);
      case 'attach':
        return void this.#attach(request).catch((err) => this.#fail(request, err));
      case 'launch':
        throw new LongreachError('LR_UNSUPPORTED', 'longreach dap only attaches: start the program under a Longreach agent and use "request": "attach" with a "qualifier"');
      case 'disconnect':
      case 'terminate':
        if (this.#state !== 'attached') return this.#respond(request, undefined);
        if (request.command === 'disconnect') this.#leaving = true;
        return this.#relay(request);
      default:
        if (this.#state === 'attached') return this.#relay(request);
        if (this.#state === 'attaching') throw new LongreachError('LR_BAD_REQUEST', `${request.command} arrived while attach is still connecting; wait for the attach response`);
        throw new LongreachError('LR_BAD_REQUEST', `${request.command} needs an attached agent: send attach with a "qualifier" first`);
    }
  }

  #initialize(request: EditorRequest): void {
    if (this.#state !== 'new') throw new LongreachError('LR_BAD_REQUEST', 'initialize was already sent on this adapter');
    const args = (request.arguments ?? {}) as { linesStartAt1?: unknown; columnsStartAt1?: unknown; pathFormat?: unknown; supportsStartDebuggingRequest?: unknown };
    if (args.linesStartAt1 === false || args.columnsStartAt1 === false || (args.pathFormat !== undefined && args.pathFormat !== 'path')) {
      throw new LongreachError('LR_UNSUPPORTED', 'longreach dap needs lines and columns counted from 1 and paths as file paths (linesStartAt1, columnsStartAt1, pathFormat "path")');
    }
    this.#editorStartsSessions = args.supportsStartDebuggingRequest === true;
    this.#state = 'initialized';
    this.#respond(request, BRIDGE_CAPABILITIES);
  }

  async #attach(request: EditorRequest): Promise<void> {
    if (this.#state === 'new') throw new LongreachError('LR_BAD_REQUEST', 'send initialize before attach');
    if (this.#state !== 'initialized') throw new LongreachError('LR_BAD_REQUEST', 'this adapter is already attached or attaching; start a new debug session');
    const plan = planAttach(request.arguments, {
      env: this.#options.env ?? process.env,
      ...(this.#options.lookupSecret ? { lookupSecret: this.#options.lookupSecret } : {}),
    });
    this.#state = 'attaching';
    const children = this.#wantChildSessions(plan);
    let session: ClientSession;
    try {
      for (const warning of plan.warnings) this.#event('output', { category: 'console', output: `longreach: ${warning}\n` });
      session = await connect(plan.qualifier, {
        secret: plan.secret,
        ...(plan.secretSource !== undefined ? { secretSource: plan.secretSource } : {}),
        timeoutMs: plan.connectTimeoutMs,
        clientName: 'Longreach editor bridge',
        ...(plan.ca !== undefined ? { ca: plan.ca } : {}),
        ...(plan.fingerprint !== undefined ? { fingerprint: plan.fingerprint } : {}),
        ...(plan.insecure ? { insecure: true } : {}),
        ...(this.#options.decide ? { decide: this.#options.decide } : {}),
        ...(this.#options.knownHostsPath !== undefined ? { knownHostsPath: this.#options.knownHostsPath } : {}),
        onWarning: (message) => this.#event('output', { category: 'important', output: `longreach: ${message}\n` }),
        onNotice: (message) => this.#event('output', { category: 'console', output: `longreach: ${message}\n` }),
      });
    } catch (err) {
      if (this.#state === 'attaching') this.#state = 'initialized';
      throw err;
    }
    if (this.#state !== 'attaching') {
      session.close(); // the editor left while we were connecting
      return;
    }
    this.#session = session;
    this.#plan = plan;
    this.#state = 'attached';
    if (children) {
      this.#childSessions = true;
      this.#attachArgs = request.arguments as Record<string, unknown>;
      if (plan.handOver === 'held') this.#sharedId = shareSecret(plan.secret ?? '');
      plan.forward.childSessions = true;
    }
    session.on('event', (name, body) => queueMicrotask(() => this.#agentEvent(name, body)));
    session.on('close', (err) => queueMicrotask(() => this.#agentClosed(err)));
    const { longreach: _hello, ...capabilities } = session.hello.capabilities;
    if (Object.keys(capabilities).length > 0) this.#event('capabilities', { capabilities });
    session.request('attach', plan.forward, { timeoutMs: plan.requestTimeoutMs }).then(
      (body) => this.#respond(request, body),
      (err) => {
        this.#fail(request, err);
        this.#leaving = true;
        session.close();
      },
    );
  }

  /** One request to the agent; its answer goes back under the editor's seq. Reactions stay in arrival order. */
  #relay(request: EditorRequest): void {
    const session = this.#session!;
    const args = request.arguments === undefined || request.arguments === null ? undefined : (request.arguments as object);
    session.request(request.command, args, { timeoutMs: this.#plan!.requestTimeoutMs }).then(
      (body) => {
        this.#respond(request, body);
        if (request.command === 'disconnect') session.close();
      },
      (err) => {
        if (request.command === 'disconnect' && session.closed) this.#respond(request, undefined);
        else this.#fail(request, err);
      },
    );
  }

  /** Child sessions for this attach? Says why not when the editor could open them but the secret cannot follow. */
  #wantChildSessions(plan: AttachPlan): boolean {
    // Asked with ?pid= too: a hub reaches a job's root that way; an agent debugging one process ignores it.
    if (!this.#editorStartsSessions || !plan.childSessions) return false;
    if (plan.handOver === 'held' && this.#options.sharesProcess === false) {
      if (plan.qualifier.pid === undefined) this.#event('output', {
        category: 'console',
        output: 'longreach: a job\'s child processes are shown as threads, not as child sessions: this adapter serves one session (stdio), and a child session could not read the secret, which is only in memory here. Give it with "secretFile" or "secretEnv" to get child sessions.\n',
      });
      return false;
    }
    return true;
  }

  /** `longreach/process` from a job's root attached with childSessions: open (startDebugging) a session for a new process. */
  #childProcess(body: unknown): void {
    const b = (body ?? {}) as { reason?: unknown; pid?: unknown; label?: unknown };
    if (!this.#childSessions || this.#state !== 'attached' || b.reason !== 'started') return;
    if (typeof b.pid !== 'number' || !Number.isInteger(b.pid) || b.pid <= 0) return;
    const pid = b.pid;
    const configuration = childConfiguration(this.#attachArgs, this.#plan!, { pid, label: typeof b.label === 'string' ? b.label.slice(0, 100) : '' }, this.#sharedId);
    const seq = this.#seq;
    this.#reverse.set(seq, (response) => {
      if (response.success === true) return;
      const why = typeof response.message === 'string' && response.message !== '' ? response.message : 'no reason given';
      this.#event('output', { category: 'console', output: `longreach: the editor did not open a debug session for process ${pid}: ${why}\n` });
    });
    this.#write({ type: 'request', command: 'startDebugging', arguments: { request: 'attach', configuration } });
  }

  #dropChildState(): void {
    this.#reverse.clear();
    if (this.#sharedId !== undefined) forgetSharedSecret(this.#sharedId);
    this.#sharedId = undefined;
  }

  #agentEvent(name: string, body: unknown): void {
    if (name === 'longreach/process') return this.#childProcess(body);
    if (name === 'terminated') this.#terminatedSent = true;
    if (name === 'longreach/error') {
      const b = body as { code?: unknown; message?: unknown } | undefined;
      this.#event('output', { category: 'stderr', output: `longreach: the agent closed the connection: ${String(b?.message ?? '')} [${String(b?.code ?? '')}]\n` });
      return;
    }
    this.#event(name, body);
  }

  #agentClosed(err: LongreachError | null): void {
    this.#dropChildState();
    if (this.#leaving || this.#state === 'ended') return;
    const why = err ? `${err.message} [${err.code}]` : 'the agent closed the connection (the program may have ended)';
    this.#event('output', { category: 'console', output: `longreach: disconnected from ${this.#plan?.shown ?? 'the agent'}: ${why}\n` });
    if (!this.#terminatedSent) this.#event('terminated', undefined);
  }

  #respond(request: EditorRequest, body: unknown): void {
    this.#write({ type: 'response', request_seq: request.seq, command: request.command, success: true, ...(body === undefined ? {} : { body }) });
  }

  /** A readable error response: `message` is the sentence (every editor shows it), body.error carries the code. */
  #fail(request: EditorRequest, raw: unknown): void {
    const err = raw instanceof LongreachError ? raw : new LongreachError('LR_INTERNAL', `longreach dap: ${(raw as Error)?.message ?? String(raw)}`);
    let text = maskSecrets(err.message);
    if (err.code === 'LR_TLS_UNTRUSTED' && typeof err.details.fingerprint === 'string' && !text.includes('chose not to')) {
      text += ` In an editor configuration, add "fingerprint": "${err.details.fingerprint}" to the attach arguments.`;
    }
    const error = { ...toErrorBody(new LongreachError(err.code, text)).error, ...(Object.keys(err.details).length > 0 ? { details: err.details } : {}) };
    this.#write({ type: 'response', request_seq: request.seq, command: request.command, success: false, message: text, body: { error } });
  }

  #event(event: string, body: unknown): void {
    this.#write(body === undefined ? { type: 'event', event } : { type: 'event', event, body });
  }

  #write(message: { type: string; [key: string]: unknown }): void {
    const full = { seq: this.#seq++, ...message };
    logWire('->', PEER, full);
    this.#send(full);
  }
}

/** A bridge over a byte stream pair (stdio, a TCP socket), with the framing limits of the wire. */
export function bridgeStreams(input: Readable, output: Writable, options: BridgeOptions = {}): Bridge {
  const decoder = new FrameDecoder(DEFAULT_BODY_LIMIT);
  const bridge = new Bridge((message) => {
    if (!output.destroyed && !output.writableEnded) output.write(encodeFrame(message));
  }, options);
  input.on('data', (chunk: Buffer) => {
    for (const message of decoder.push(chunk)) bridge.receive(message);
    if (decoder.error) bridge.end(decoder.error.message);
  });
  const end = (): void => bridge.end();
  input.on('end', end);
  input.on('close', end);
  input.on('error', end);
  output.on('error', end);
  return bridge;
}

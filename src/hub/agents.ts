// The hub's side of reverse connect (docs/protocol.md section 11): the handshake in which the hub proves first
// that it knows the secret, the control connections of connected agents (listing), and session connections the
// hub asks an agent to dial, one per client that selects one of its processes.

import { randomBytes } from 'node:crypto';
import { computeHubProof, decodeNonce, makeNonce, proofMatches } from '../protocol/auth.js';
import type { DapConnection } from '../protocol/connection.js';
import { LongreachError, toErrorBody } from '../protocol/errors.js';
import { DEFAULT_BODY_LIMIT, type DapMessage } from '../protocol/framing.js';
import { log } from '../protocol/log.js';
import type { ProcessInfo } from '../protocol/process-info.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import type { Throttle } from '../server/throttle.js';
import { Requester } from './requester.js';

const LIST_TIMEOUT_MS = 3_000;
const SESSION_TIMEOUT_MS = 10_000;

/** One connected agent: its control connection and the process(es) it reported last. */
export class AgentLink {
  readonly conn: DapConnection;
  readonly requester: Requester;
  readonly pid: number;
  info: ProcessInfo;

  constructor(conn: DapConnection, requester: Requester, info: ProcessInfo) {
    this.conn = conn;
    this.requester = requester;
    this.pid = info.pid;
    this.info = info;
  }

  /** The processes this agent reaches: itself, or the `processes` it reports (a job's gateway). */
  processes(): ProcessInfo[] {
    const info = this.info;
    if (Array.isArray(info.processes)) {
      return info.processes.filter((p) => p !== null && typeof p === 'object' && Number.isInteger(p.pid)).map(({ processes: _nested, ...p }) => p);
    }
    const { processes: _none, ...self } = info;
    return [{ ...self, ppid: typeof self.ppid === 'number' ? self.ppid : null, label: typeof self.label === 'string' ? self.label : '' }];
  }
}

interface Ticket {
  link: AgentLink;
  resolve(conn: DapConnection): void;
  reject(err: LongreachError): void;
  timer: NodeJS.Timeout;
}

export interface RegistryOptions {
  secret: string;
  throttle: Throttle;
  onEvent: (line: string) => void;
}

export class AgentRegistry {
  readonly #options: RegistryOptions;
  /** Keyed by host name and pid: the same process dialing again replaces its old link; equal pids on two hosts do not. */
  readonly #links = new Map<string, AgentLink>();
  readonly #tickets = new Map<string, Ticket>();

  constructor(options: RegistryOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#links.size;
  }

  /** Every connected agent's processes, asked afresh (an agent that does not answer in time keeps its last answer). */
  async list(): Promise<ProcessInfo[]> {
    const links = [...this.#links.values()];
    await Promise.all(
      links.map(async (link) => {
        try {
          link.info = await link.requester.request<ProcessInfo>('longreach/processInfo', {}, LIST_TIMEOUT_MS);
        } catch (err) {
          log('hub', `agent ${link.pid} did not answer processInfo: ${(err as Error).message}`);
        }
      }),
    );
    return [...this.#links.values()].flatMap((link) => link.processes());
  }

  /** The agent that reaches `pid` (its own, or a child it reported), after a fresh listing if need be. */
  async route(pid: number): Promise<AgentLink> {
    const find = (): AgentLink[] => [...this.#links.values()].filter((l) => l.processes().some((p) => p.pid === pid));
    let found = find();
    if (found.length !== 1) {
      await this.list();
      found = find();
    }
    if (found.length > 1) {
      const hosts = found.map((l) => `${l.info.hostname || '?'} (from ${l.conn.peer})`).join(', ');
      throw new LongreachError('LR_BAD_REQUEST', `pid ${pid} is a process on more than one machine connected to this hub: ${hosts}; a pid cannot tell them apart, so stop one of the agents or give each machine its own hub`);
    }
    const link = found[0];
    if (!link) {
      const pids = [...this.#links.values()].flatMap((l) => l.processes().map((p) => p.pid));
      throw new LongreachError('LR_NO_SUCH_PROCESS', `no process ${pid} is reachable through this hub; its processes: ${pids.length > 0 ? pids.join(', ') : 'none (no agent is connected)'} (see longreach list)`);
    }
    return link;
  }

  /** Asks the agent for a fresh connection for one client; resolves once the agent has dialed and authenticated. */
  openSession(link: AgentLink, client: string): Promise<DapConnection> {
    const ticket = randomBytes(24).toString('base64url');
    const arrived = new Promise<DapConnection>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#tickets.delete(ticket);
        reject(new LongreachError('LR_TIMEOUT', `the agent of process ${link.pid} did not dial back within ${SESSION_TIMEOUT_MS / 1000} s`));
      }, SESSION_TIMEOUT_MS);
      this.#tickets.set(ticket, { link, resolve, reject, timer });
    });
    link.requester.request('longreach/openSession', { ticket, client }, SESSION_TIMEOUT_MS).catch((err: LongreachError) => {
      const waiting = this.#tickets.get(ticket);
      if (!waiting) return;
      this.#tickets.delete(ticket);
      clearTimeout(waiting.timer);
      waiting.reject(err);
    });
    return arrived;
  }

  /**
   * Runs the agent's side of a connection whose first message was `longreach/agentHello`: answer with the hub's
   * proof, check the agent's, then register a control connection or hand a session connection to its ticket.
   */
  handshake(conn: DapConnection, hello: DapMessage, ip: string): void {
    const { secret, throttle, onEvent } = this.#options;
    const fail = (request: DapMessage, err: LongreachError): void => {
      conn.send({ type: 'response', request_seq: request.seq, command: String(request.command), success: false, message: err.code, body: toErrorBody(err) });
      conn.close();
    };
    const args = (hello.arguments ?? {}) as Record<string, unknown>;
    if (args.longreachProtocol !== PROTOCOL_VERSION) {
      return fail(hello, new LongreachError('LR_VERSION_MISMATCH', `agent speaks Longreach protocol ${String(args.longreachProtocol)}, this hub speaks protocol ${PROTOCOL_VERSION}; upgrade the older side`));
    }
    const agentNonce = decodeNonce(args.nonce);
    if (!agentNonce) return fail(hello, new LongreachError('LR_BAD_REQUEST', 'longreach/agentHello needs "nonce": base64 of 16-64 random bytes'));
    const wait = throttle.retryAfter(ip);
    if (wait > 0) return fail(hello, new LongreachError('LR_THROTTLED', `too many failed attempts from ${ip}; retry in ${(wait / 1000).toFixed(1)} s`));
    const hubNonce = makeNonce();
    conn.send({
      type: 'response', request_seq: hello.seq, command: 'longreach/agentHello', success: true,
      body: { protocol: PROTOCOL_VERSION, nonce: hubNonce.toString('base64'), proof: computeHubProof(secret, 'hub', agentNonce, hubNonce) },
    });
    conn.once('message', (auth) => {
      const a = (auth.arguments ?? {}) as Record<string, unknown>;
      if (auth.type !== 'request' || auth.command !== 'longreach/agentAuth') {
        return fail(auth, new LongreachError('LR_BAD_REQUEST', 'expected longreach/agentAuth after longreach/agentHello'));
      }
      if (!proofMatches(computeHubProof(secret, 'agent', agentNonce, hubNonce), a.proof)) {
        throttle.failed(ip);
        log('auth', `agent from ${conn.peer} failed authentication`);
        onEvent(`refused an agent from ${conn.peer}: it does not know the secret`);
        return fail(auth, new LongreachError('LR_AUTH_FAILED', 'secret did not match (the agent and the hub must share one secret)'));
      }
      throttle.succeeded(ip);
      if (a.role === 'session') {
        const ticket = typeof a.ticket === 'string' ? this.#tickets.get(a.ticket) : undefined;
        if (!ticket) return fail(auth, new LongreachError('LR_BAD_REQUEST', 'unknown or expired ticket: the hub did not ask for this session'));
        this.#tickets.delete(a.ticket as string);
        clearTimeout(ticket.timer);
        conn.bodyLimit = DEFAULT_BODY_LIMIT;
        conn.send({ type: 'response', request_seq: auth.seq, command: 'longreach/agentAuth', success: true, body: {} });
        ticket.resolve(conn);
        return;
      }
      if (a.role !== 'control') return fail(auth, new LongreachError('LR_BAD_REQUEST', 'longreach/agentAuth needs "role": "control" or "session"'));
      conn.bodyLimit = DEFAULT_BODY_LIMIT;
      conn.send({ type: 'response', request_seq: auth.seq, command: 'longreach/agentAuth', success: true, body: {} });
      void this.#register(conn);
    });
  }

  async #register(conn: DapConnection): Promise<void> {
    const requester = new Requester(conn, `the agent at ${conn.peer}`);
    let info: ProcessInfo;
    try {
      // wake: false: registering the agent is not a client asking for its job, so a job's root lists without waking
      // the job (its children join only once a client lists or selects through the hub: list(), route())
      info = await requester.request<ProcessInfo>('longreach/processInfo', { wake: false }, LIST_TIMEOUT_MS);
      if (!Number.isInteger(info?.pid)) throw new LongreachError('LR_BAD_MESSAGE', 'processInfo without a pid');
    } catch (err) {
      log('hub', `agent at ${conn.peer} gave no process information: ${(err as Error).message}`);
      conn.close();
      return;
    }
    const link = new AgentLink(conn, requester, info);
    const key = `${String(info.hostname ?? '')}\u0000${link.pid}`;
    const previous = this.#links.get(key);
    this.#links.set(key, link);
    previous?.conn.close(); // the same process dialed again (e.g. after a network break): the newer link wins
    const program = Array.isArray(info.argv) ? info.argv.join(' ').slice(0, 80) : '';
    this.#options.onEvent(`agent connected: pid ${link.pid} (${info.runtimeDisplay ?? info.runtime ?? '?'}${program ? `: ${program}` : ''}) from ${conn.peer}`);
    conn.on('close', () => {
      if (this.#links.get(key) === link) this.#links.delete(key);
      for (const [key, ticket] of this.#tickets) {
        if (ticket.link !== link) continue;
        this.#tickets.delete(key);
        clearTimeout(ticket.timer);
        ticket.reject(new LongreachError('LR_CLOSED', `the agent of process ${link.pid} disconnected from the hub`));
      }
      this.#options.onEvent(`agent gone: pid ${link.pid}`);
    });
  }

  closeAll(): void {
    for (const link of this.#links.values()) link.conn.destroy();
    this.#links.clear();
  }
}

// A debugging session over the whole job: what a client gets when it attaches to the root without `?pid=`
// (docs/protocol.md 5.3), speaking what the Python agent's job session speaks (python/longreach/job/jobsession.py),
// so the CLI's `processes` / `process N` work the same.
//
// The root's own session (a NodeDebugSession) runs behind it; every other process of the job gets a session
// opened by the gateway (a ChildPort), now and whenever a process joins later. Requests that name a thread, frame,
// variables or source go to the process that id belongs to (ids.ts); the rest go to the root. Breakpoints,
// exception filters and function breakpoints go to every process, present and future (the root answers; a process
// that joins later gets the latest of each, then configurationDone, one after the other); a line breakpoint is
// verified once any process has verified it (verified.ts: the root's ids, another process's line). `threads` lists
// every process's threads, named `pid 4242 cluster worker 1: main`. Each process stops on its own, so stops and resumes
// say allThreadsStopped / allThreadsContinued: false once the job has other processes; a child's output is
// prefixed with its name; a child that ends is announced and the session carries on with the others.
//
// The attach waits for the processes that can answer at once, never for a dormant one (job/dormant.cts): it wakes
// only between two turns of its event loop, so one busy in synchronous code cannot open its session until it
// yields. Such a process joins the session when it wakes (woke(), from the gateway), as a process started after the
// attach does: its breakpoints, then configurationDone. Meanwhile the job has other processes all the same (threads
// are named by process, stops hold one process).
//
// With `"childSessions": true` in the attach arguments (an editor that opens a debug session per process, DAP's
// `startDebugging`, through the bridge) the session covers the root process alone and reports the other processes
// instead of joining them: a `longreach/process` event when one is there or joins (`reason` "started", after the
// attach response) and when it leaves ("exited"). The client debugs each with a session of its own (`?pid=`); the
// job's hold still applies to a new process, and only that session's configurationDone releases it (api.ts
// joinJob waits for this process's own configurationDone, and no session but the client's own is opened with it).

import { LongreachError, fromErrorResponse } from '../../protocol/errors.js';
import { log } from '../../protocol/log.js';
import type { DebugSessionHandler, SessionContext } from '../../server/gate.js';
import type { ProcessInfo } from '../../protocol/process-info.js';
import * as ids from './ids.js';
import type { JobMessage, Link } from './link.js';
import { VerifiedAnywhere, type ChildBreakpoint } from './verified.js';

type Args = Record<string, unknown>;

/** A process registered with the gateway (gateway.ts). */
export interface Member {
  pid: number;
  ppid: number | null;
  link: Link;
  capabilities: Record<string, unknown>;
  helper: boolean;
  execd: boolean;
  info: ProcessInfo | null;
  /** Joined without its agent worker (job/dormant.cts): the first `open` wakes it, and its worker's link replaces this one. */
  dormant: boolean;
  /** The process image a dormant member names (a Node.js member's), null otherwise. */
  image: string | null;
}

/** What a job session needs of the gateway (gateway.ts). */
export interface Gateway {
  members(): Member[];
  isMember(member: Member): boolean;
  openSession(member: Member, peer: string): Promise<Link | null>;
  /** A client killed the whole job: its processes but the root and those in `told` (ended through their sessions)
   * end now. */
  endTheRest(told: Set<number>): void;
}

const BROADCAST = new Set(['setBreakpoints', 'setExceptionBreakpoints', 'setFunctionBreakpoints']);
const DROP_FROM_CHILDREN = new Set(['initialized', 'process', 'breakpoint', 'module', 'loadedSource', 'capabilities', 'exited', 'terminated']);
const THREADS_TIMEOUT_MS = 1_000;
const PRIVATE_TIMEOUT_MS = 5_000;
/** Requests of our own to a child are numbered from here (a client's never get this far). */
const PRIVATE_SEQ = 2 ** 40;

class ChildPort {
  readonly threads = new Set<number>();
  /** Its own breakpoint ids -> the client's breakpoints they are (VerifiedAnywhere). */
  readonly breakpoints = new Map<number, ChildBreakpoint>();
  /** Its setBreakpoints under way, and the events held until they are done (JobSession.#fromChild). */
  readonly settling = new Set<Promise<void>>();
  held: Promise<void> | null = null;
  readonly #pending = new Map<number, { command: string; settle: (response: JobMessage | Error) => void }>();
  readonly #lineStart = new Map<string, boolean>();
  #seq = PRIVATE_SEQ;
  /** Private requests (the replay, broadcasts) go one after the other, each once the last was answered. */
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly slot: number,
    readonly pid: number,
    readonly label: string,
    readonly link: Link,
  ) {}

  name(): string {
    return `pid ${this.pid}${this.label ? ` ${this.label}` : ''}`;
  }

  /** Sends a request; resolves with the response message (rejects when the process ends or `timeoutMs` passes). */
  request(command: string, args: Args, timeoutMs = 0): Promise<JobMessage> {
    const seq = ++this.#seq;
    return new Promise<JobMessage>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      this.#pending.set(seq, {
        command,
        settle: (r) => {
          clearTimeout(timer);
          this.#pending.delete(seq);
          if (r instanceof Error) reject(r);
          else resolve(r);
        },
      });
      if (timeoutMs > 0) timer = setTimeout(() => this.#pending.get(seq)?.settle(new LongreachError('LR_TIMEOUT', `${this.name()} did not answer ${command} within ${timeoutMs / 1000} s`)), timeoutMs).unref();
      if (!this.link.send({ seq, type: 'request', command, arguments: args })) this.#pending.get(seq)?.settle(new LongreachError('LR_CLOSED', `${this.name()} has ended`));
    });
  }

  /** A request after every private one sent before it was answered (or gave up). */
  queued(command: string, args: Args): Promise<unknown> {
    const next = this.#chain.then(() => this.request(command, args, PRIVATE_TIMEOUT_MS)).catch(() => undefined);
    this.#chain = next;
    return next;
  }

  answered(response: JobMessage): void {
    this.#pending.get(response.request_seq as number)?.settle(response);
  }

  /** The process ended: every request it did not answer fails. */
  ended(): void {
    for (const { command, settle } of [...this.#pending.values()]) {
      settle(new LongreachError('LR_CLOSED', `${this.name()} ended before answering ${command}; the other processes of the job go on`));
    }
  }

  /** The output with `[pid 4242 fork] ` at the start of each line (a line may start in one event and end in another). */
  prefixed(category: string, text: string): string {
    const prefix = `[${this.name()}] `;
    let start = this.#lineStart.get(category) ?? true;
    let out = '';
    for (const piece of text.match(/[^\n]*\n|[^\n]+/g) ?? []) {
      out += start ? prefix + piece : piece;
      start = piece.endsWith('\n');
    }
    this.#lineStart.set(category, start);
    return out;
  }
}

export class JobSession implements DebugSessionHandler {
  readonly #gateway: Gateway;
  readonly #context: SessionContext;
  readonly #root: DebugSessionHandler;
  readonly #ended: () => void;
  readonly #ports = new Map<number, ChildPort>();
  readonly #byPid = new Map<number, ChildPort>();
  /** The processes join() took (a new one for the same pid is an exec). */
  readonly #brought = new WeakSet<Member>();
  /** Processes join() took that are not in the session yet: their session is being opened, or they are asleep. */
  readonly #coming = new Set<Member>();
  /** Dormant processes that did not open their session in time (busy): they join when they wake (woke()). */
  readonly #asleep = new Set<Member>();
  #nextSlot = 1;
  #attachArgs: Args = {};
  readonly #breakpoints = new Map<string, Args>();
  readonly #verified = new VerifiedAnywhere();
  #exceptions: Args | null = null;
  #functions: Args | null = null;
  #configured = false;
  #closed = false;
  /** null before attach; true: the other processes are reported (`longreach/process`), not joined. */
  #announce: boolean | null = null;
  /** The attach response is out: reports may go. */
  #announcing = false;
  /** pid -> the process reported as started (announce mode). */
  readonly #announced = new Map<number, Member>();

  constructor(gateway: Gateway, context: SessionContext, makeRoot: (context: SessionContext) => DebugSessionHandler, ended: () => void) {
    this.#gateway = gateway;
    this.#context = context;
    this.#ended = ended;
    this.#root = makeRoot({ ...context, sendEvent: (event, body) => context.sendEvent(event, this.#across(event, body)) });
  }

  handle(command: string, args: Args): unknown {
    if (command === 'attach') return this.#attach(args);
    const slot = ids.routeOf(args);
    if (slot) return this.#forward(slot, command, args);
    if (command === 'setBreakpoints') return this.#setBreakpoints(args);
    if (BROADCAST.has(command)) {
      if (command === 'setExceptionBreakpoints') this.#exceptions = { ...args };
      else this.#functions = { ...args };
      this.#toChildren(command, args);
    } else if (command === 'configurationDone') {
      this.#configured = true;
      this.#toChildren(command, args);
    } else if (command === 'threads') {
      return this.#threads();
    } else if (command === 'terminate') {
      this.#gateway.endTheRest(new Set(this.#byPid.keys()));
      this.#endChildren(true);
    }
    return this.#root.handle(command, args);
  }

  started(): void {
    this.#root.started?.();
    if (this.#announce) this.#startAnnouncing();
  }

  close(): void | Promise<void> {
    this.#endChildren(false);
    return this.#root.close();
  }

  terminate(): void | Promise<void> {
    this.#gateway.endTheRest(new Set(this.#byPid.keys()));
    this.#endChildren(true);
    return this.#root.terminate ? this.#root.terminate() : this.#root.close();
  }

  // ---- the root -------------------------------------------------------------------------------------------------
  async #attach(args: Args): Promise<unknown> {
    this.#attachArgs = { ...args };
    this.#announce = args.childSessions === true;
    const body = await this.#root.handle('attach', args);
    if (this.#announce) return body;
    const members = this.#gateway.members();
    // a dormant process may be busy, unable to answer for a long while: the attach does not wait for it
    for (const m of members.filter((each) => each.dormant)) {
      void this.join(m).catch((err: unknown) => log('agent', `job: process ${m.pid} could not join the session: ${String(err)}`));
    }
    await Promise.all(members.filter((each) => !each.dormant).map((m) => this.join(m)));
    return body;
  }

  /** The job has other processes in this session, or on their way into it. */
  #several(): boolean {
    return this.#ports.size > 0 || this.#coming.size > 0;
  }

  /** With other processes, a stop or a resume holds for one process only: say so, so a client queues stops. */
  #across(event: string, body: unknown): unknown {
    if (!this.#several() || body === null || typeof body !== 'object') return body;
    if (event === 'stopped') return { ...(body as Args), allThreadsStopped: false };
    if (event === 'continued') return { ...(body as Args), allThreadsContinued: false };
    return body;
  }

  // ---- children -------------------------------------------------------------------------------------------------
  /** A process of the job (there at attach, or joining later): open its session and bring it up to date. */
  async join(member: Member): Promise<void> {
    // before attach, attach itself brings in every process there
    if (this.#closed || member.helper || this.#announce === null) return;
    if (this.#announce) return this.#report(member);
    // joined (or joining) already: it joined while #attach() was bringing in the processes there
    if (this.#brought.has(member)) return;
    this.#brought.add(member);
    for (const old of this.#coming) {
      // the same pid again (an exec) while the old image was on its way in: it never will be
      if (old.pid === member.pid) this.#forget(old);
    }
    const stale = this.#byPid.get(member.pid);
    if (stale) {
      // the same pid again (an exec): the old image's session is gone
      this.#ports.delete(stale.slot);
      this.#byPid.delete(member.pid);
      stale.link.close();
    }
    this.#coming.add(member);
    try {
      await this.#open(member);
    } finally {
      if (!this.#asleep.has(member)) this.#coming.delete(member);
    }
  }

  /**
   * A dormant process's worker took its place (gateway.ts): one that could not open its session while it slept
   * (busy in synchronous code) opens it now.
   */
  woke(member: Member): void {
    if (!this.#asleep.delete(member)) return;
    if (this.#closed || !this.#gateway.isMember(member)) return void this.#coming.delete(member);
    void this.#open(member)
      .catch((err: unknown) => log('agent', `job: process ${member.pid} could not join the session: ${String(err)}`))
      .finally(() => {
        if (!this.#asleep.has(member)) this.#coming.delete(member);
      });
  }

  /** Opens `member`'s session and brings it up to date; a dormant one that does not answer is left to wake. */
  async #open(member: Member): Promise<void> {
    let link: Link | null = null;
    for (let i = 0; i < 3 && !link; i++) {
      // a busy machine may keep a starting process from answering in time: ask again
      link = await this.#gateway.openSession(member, this.#context.peer);
      if (this.#closed || !this.#gateway.isMember(member)) break;
      if (!link && member.dormant) {
        // busy in synchronous code: the open reaches it when it yields, which wakes it (woke()); asking again meanwhile
        // would only queue more opens behind the first
        this.#asleep.add(member);
        log('agent', `job: process ${member.pid} is dormant and did not answer (busy); it joins the job session when it wakes`);
        return this.#console(`pid ${member.pid}${labelOf(member) ? ` ${labelOf(member)}` : ''} joined the job dormant and is busy in synchronous code; it joins this session when it yields\n`);
      }
    }
    if (!link) return void log('agent', `job: process ${member.pid} did not open its session; it is not part of the job session`);
    if (this.#closed || this.#nextSlot > ids.MAX_SLOT) return void link.close();
    const port = new ChildPort(this.#nextSlot++, member.pid, labelOf(member), link);
    this.#ports.set(port.slot, port);
    this.#byPid.set(port.pid, port);
    link.on('message', (message) => this.#fromChild(port, message));
    link.on('close', () => this.#childEnded(port));
    const steps: Promise<unknown>[] = [port.queued('attach', this.#attachArgs)];
    for (const [path, args] of this.#breakpoints) steps.push(this.#childSetBreakpoints(port, path, args));
    if (this.#exceptions) steps.push(port.queued('setExceptionBreakpoints', this.#exceptions));
    if (this.#functions) steps.push(port.queued('setFunctionBreakpoints', this.#functions));
    if (this.#configured) steps.push(port.queued('configurationDone', {}));
    await Promise.all(steps);
    log('agent', `job: process ${member.pid} joined the job session`);
  }

  // ---- announce mode: each process has a session of its own -------------------------------------------------------
  #startAnnouncing(): void {
    this.#announcing = true;
    for (const member of this.#gateway.members()) this.#report(member);
  }

  /** `longreach/process` "started" for a process not reported yet (an exec'd pid is a new member: reported again). */
  #report(member: Member): void {
    if (!this.#announcing || this.#closed || member.helper || this.#announced.get(member.pid) === member) return;
    this.#announced.set(member.pid, member);
    let label = typeof member.info?.label === 'string' ? member.info.label : '';
    if (!label && member.execd) label = "exec'd";
    this.#context.sendEvent('longreach/process', { reason: 'started', pid: member.pid, ppid: member.ppid, label });
  }

  /** A process left the job (gateway.ts): in announce mode, say so if it was reported. */
  left(member: Member): void {
    this.#forget(member);
    if (this.#closed || this.#announced.get(member.pid) !== member) return;
    this.#announced.delete(member.pid);
    this.#context.sendEvent('longreach/process', { reason: 'exited', pid: member.pid });
  }

  /** `member` will not come into the session (it left, or exec'd). */
  #forget(member: Member): void {
    this.#asleep.delete(member);
    this.#coming.delete(member);
  }

  /**
   * A source's breakpoints, in every process: the client gets the root's answer (its ids), and each breakpoint is
   * verified as soon as any process has verified it (VerifiedAnywhere).
   */
  async #setBreakpoints(args: Args): Promise<unknown> {
    const path = String((args.source as Args | undefined)?.path);
    this.#breakpoints.set(path, { ...args });
    const generation = this.#verified.reset(path);
    for (const port of this.#ports.values()) void this.#childSetBreakpoints(port, path, args);
    const body = (await this.#root.handle('setBreakpoints', args)) as { breakpoints?: unknown } | undefined;
    if (!body || !Array.isArray(body.breakpoints)) return body;
    return { ...body, breakpoints: this.#verified.rootAnswered(path, generation, body.breakpoints as Args[]) };
  }

  /** Sends a child a source's breakpoints; those it verifies first are the client's news (a `breakpoint` event). */
  #childSetBreakpoints(port: ChildPort, path: string, args: Args): Promise<void> {
    const settled = this.#childSetBreakpointsNow(port, path, args);
    port.settling.add(settled);
    return settled.finally(() => port.settling.delete(settled));
  }

  async #childSetBreakpointsNow(port: ChildPort, path: string, args: Args): Promise<void> {
    const generation = this.#verified.generation(path);
    const response = (await port.queued('setBreakpoints', args)) as JobMessage | undefined;
    const list = (response?.body as { breakpoints?: unknown } | undefined)?.breakpoints;
    if (response?.success !== true || !Array.isArray(list) || this.#closed) return;
    const { ids, changed } = this.#verified.childAnswered(path, generation, list as Args[]);
    for (const [id, where] of ids) port.breakpoints.set(id, where);
    for (const body of changed) this.#context.sendEvent('breakpoint', body);
  }

  #toChildren(command: string, args: Args): void {
    for (const port of this.#ports.values()) void port.queued(command, args);
  }

  async #forward(slot: number, command: string, args: Args): Promise<unknown> {
    const port = this.#ports.get(slot);
    if (!port) throw new LongreachError('LR_BAD_REQUEST', 'that thread, frame or variable belongs to a process that has ended; send threads for the current ids');
    const response = await port.request(command, ids.inward(args));
    if (response.success !== true) throw fromErrorResponse(response as { message?: string; body?: unknown });
    return ids.outward(response.body, port.slot, `${port.name()}: `);
  }

  #fromChild(port: ChildPort, message: JobMessage): void {
    if (message.type === 'response') return port.answered(message);
    if (port.held) {
      port.held = port.held.then(() => this.#childEvent(port, message)).catch(() => undefined);
    } else if (message.type === 'event' && message.event === 'stopped' && port.settling.size > 0) {
      // a stop at a breakpoint just set there: after what its answer tells the client (the breakpoint's id and that it
      // is verified), and the events after it in their order. Bounded: each answer waits PRIVATE_TIMEOUT_MS at most.
      port.held = Promise.allSettled([...port.settling]).then(() => this.#childEvent(port, message)).catch(() => undefined);
    } else {
      return this.#childEvent(port, message);
    }
    const held = port.held;
    void held.finally(() => { if (port.held === held) port.held = null; });
  }

  #childEvent(port: ChildPort, message: JobMessage): void {
    if (message.type !== 'event' || typeof message.event !== 'string' || this.#closed) return;
    const event = message.event;
    let body = (message.body ?? {}) as Args;
    if (event === 'thread' && typeof body.threadId === 'number') {
      if (body.reason === 'started') port.threads.add(body.threadId);
      else port.threads.delete(body.threadId);
    }
    if (event === 'stopped' && typeof body.threadId === 'number') port.threads.add(body.threadId);
    if (event === 'exited') this.#console(`${port.name()} exited with code ${String(body.exitCode)}\n`);
    if (event === 'breakpoint') return this.#childBreakpointEvent(port, body);
    if (DROP_FROM_CHILDREN.has(event)) return;
    if (event === 'output' && typeof body.output === 'string' && body.category !== 'telemetry') {
      body = { ...body, output: port.prefixed(String(body.category ?? 'console'), body.output) };
    }
    const out = ids.outward(body, port.slot, `${port.name()}: `) as Args;
    if (event === 'stopped' && Array.isArray(body.hitBreakpointIds)) {
      // a child's ids are its own: the client knows the root's (a stop names the breakpoint by them)
      const hit = body.hitBreakpointIds.map((id: unknown) => {
        const where = typeof id === 'number' ? port.breakpoints.get(id) : undefined;
        return where ? this.#verified.rootId(where) : undefined;
      }).filter((id): id is number => id !== undefined);
      if (hit.length) out.hitBreakpointIds = hit;
    }
    this.#context.sendEvent(event, this.#across(event, out));
  }

  /** A child's breakpoint event names its own id: only news of one it verified reaches the client, by the root's id. */
  #childBreakpointEvent(port: ChildPort, body: Args): void {
    const bp = body.breakpoint as Args | undefined;
    if (bp?.verified !== true || typeof bp.id !== 'number') return;
    const where = port.breakpoints.get(bp.id);
    const news = where ? this.#verified.childVerified(where, bp.line) : null;
    if (news) this.#context.sendEvent('breakpoint', news);
  }

  #childEnded(port: ChildPort): void {
    const known = this.#ports.get(port.slot) === port;
    if (known) {
      this.#ports.delete(port.slot);
      if (this.#byPid.get(port.pid) === port) this.#byPid.delete(port.pid);
    }
    port.ended();
    if (!known || this.#closed) return;
    for (const tid of [...port.threads].sort((a, b) => a - b)) this.#context.sendEvent('thread', { reason: 'exited', threadId: ids.join(port.slot, tid) });
    this.#console(`${port.name()} left the job session\n`);
  }

  /** Detach (or end) everywhere: the children's sessions end now, which is not news for the client. */
  #endChildren(terminate: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const port of this.#ports.values()) {
      if (terminate) port.link.send({ seq: PRIVATE_SEQ - 1, type: 'request', command: 'disconnect', arguments: { terminateDebuggee: true } });
      port.link.close();
    }
    this.#ports.clear();
    this.#byPid.clear();
    this.#ended();
  }

  async #threads(): Promise<unknown> {
    const ports = [...this.#ports.values()];
    const asked = ports.map((port) => port.request('threads', {}, THREADS_TIMEOUT_MS).catch(() => null));
    const own = ((await this.#root.handle('threads', {})) as { threads?: Args[] } | undefined)?.threads ?? [];
    const prefix = `pid ${process.pid}: `;
    const threads: unknown[] = this.#several() ? own.map((t) => ({ ...t, name: prefix + String(t.name ?? '') })) : [...own];
    const answers = await Promise.all(asked);
    answers.forEach((response, i) => {
      const port = ports[i]!;
      if (!response || response.success !== true) return;
      const local = ((response.body ?? {}) as { threads?: Args[] }).threads ?? [];
      for (const t of local) if (typeof t.id === 'number') port.threads.add(t.id);
      threads.push(...((ids.outward(response.body, port.slot, `${port.name()}: `) as { threads?: unknown[] }).threads ?? []));
    });
    return { threads };
  }

  #console(text: string): void {
    if (this.#closed) return;
    this.#context.sendEvent('output', { category: 'console', output: `longreach: ${text}` });
  }
}

/** What a process said it is when it joined (`fork`, `cluster worker 1`), or ''. */
function labelOf(member: Member): string {
  return typeof member.info?.label === 'string' ? member.info.label : '';
}

// The job's gateway, in the agent's worker of the process the user started (docs/protocol.md 5.3): the job's
// other processes register here, a listing shows them all, and a client that selected one (`?pid=`) is relayed to
// it. The same wire as the Python agent's gateway (python/longreach/job/gateway.py), so either kind of process may
// join either kind of root.
//
// It listens on a Unix socket in a private directory (mode 0700, made by the main thread with mkdtemp), so only
// the job's user can even connect, and every connection must present the job token (compared in constant time)
// within a few seconds. Nothing of the job listens on an outside address but the root's server. Two kinds of
// connection come in: `control`, one per process for its whole life (its end is the process's end), and
// `session`, a process opening the session the gateway asked it for.
//
// A child that has not called the agent joins only once the job is awake: the first time a client asks for the job
// (a listing, a `?pid=` selection, an attach to the whole job) the gateway makes the `awake` file in its folder
// (wake()), which such children look for every AWAKE_POLL_MS (job/variable.cts whenAwake); a job nobody asks for
// costs its children nothing more. Just after that first wake a listing or a selection waits a little (settle())
// for the processes joining because of it.

import { createHash, timingSafeEqual } from 'node:crypto';
import { chmodSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LongreachError } from '../../protocol/errors.js';
import { log } from '../../protocol/log.js';
import type { ProcessInfo } from '../../protocol/process-info.js';
import type { DebugSessionHandler, GateJob, JobClient, SessionContext } from '../../server/gate.js';
import { awakeFlag } from './config.js';
import { JobSession, type Member } from './job-session.js';
import { Link, type JobMessage } from './link.js';
import { commandLine, hasChildren, jobProcesses, notJoined, notJoinedRows, uptime } from './procfs.js';
import { Relay } from './relay.js';

const HELLO_TIMEOUT_MS = 5_000;
const OPEN_TIMEOUT_MS = 5_000;
const INFO_TIMEOUT_MS = 1_000;
const MAX_LINKS = 4096;
/** After the job first wakes, a listing waits at least this long for the processes that join now, */
const SETTLE_MIN_MS = 400;
/** ... and then until none has joined for this long, */
const SETTLE_QUIET_MS = 150;
/** ... but never longer than this (all three as the Python agent's gateway). */
const SETTLE_MAX_MS = 2_000;
const SETTLE_STEP_MS = 30;

interface Ask {
  id: number;
  pid?: number;
  /** An open's client address: asked again of a dormant member's worker once it took the member's place. */
  peer?: [string, number];
  expect: number;
  answers: Map<number, ProcessInfo>;
  done: (link?: Link) => void;
}

export type { Member };

export class Gateway implements GateJob {
  readonly folder: string;
  readonly socketPath: string;
  readonly #token: Buffer;
  /** When this gateway started (procfs uptime()): a process of the job that started before never had its variables. */
  readonly #started: number | null;
  readonly #members = new Map<number, Member>();
  readonly #seen = new Set<number>();
  readonly #asks = new Map<number, Ask>();
  #nextAsk = 0;
  #links = 0;
  #server: Server | null = null;
  #session: JobSession | null = null;
  /** When a client first asked for the job (wake(); performance.now()), and when a process last registered. */
  #awakeAt: number | null = null;
  #lastJoin = 0;

  constructor(folder: string, token: string) {
    this.#started = uptime();
    this.folder = folder;
    this.socketPath = join(folder, 'gw');
    this.#token = digest(token);
  }

  listen(): Promise<void> {
    const server = createServer((socket) => {
      if (this.#links >= MAX_LINKS) return void socket.destroy();
      this.#links += 1;
      socket.on('close', () => (this.#links -= 1));
      this.#serve(new Link(socket));
    });
    this.#server = server;
    return new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.removeListener('error', reject);
        server.on('error', (err) => log('agent', `job gateway: ${err.message}`));
        server.unref();
        try {
          chmodSync(this.socketPath, 0o600);
        } catch {
          // the directory's 0700 already keeps others out
        }
        resolve();
      });
    });
  }

  // ---- what the gate asks ---------------------------------------------------------------------------------------
  pids(): number[] {
    return [process.pid, ...[...this.#members.values()].filter((m) => !m.helper).map((m) => m.pid).sort((a, b) => a - b)];
  }

  members(): Member[] {
    return [...this.#members.values()].filter((m) => !m.helper);
  }

  isMember(member: Member): boolean {
    return this.#members.get(member.pid) === member;
  }

  /** `wake` false: a hub registering the root, not a client asking for the job; the job stays as it is. */
  async processInfo(own: ProcessInfo, wake: boolean): Promise<ProcessInfo> {
    if (wake) {
      this.wake();
      await this.#settle();
    }
    const members = this.members();
    const answers = members.length > 0 ? await this.#askAll(members) : new Map<number, ProcessInfo>();
    const me: ProcessInfo = { ppid: process.ppid, label: '', waiting: null, ...own };
    // the processes that have not joined: only once the job was asked for, when they would have
    const rows: ProcessInfo[] = wake ? notJoinedRows(process.pid, this.socketPath, this.#started, new Set(this.#members.keys()), me) : [];
    for (const row of rows) row.ppid = this.#visibleParent(row.ppid ?? null);
    for (const m of members) {
      const info = answers.get(m.pid) ?? m.info;
      if (!info || typeof info !== 'object') continue;
      const row: ProcessInfo = { ...info, pid: m.pid, ppid: this.#visibleParent(m.ppid) };
      if (!row.label && m.execd) row.label = "exec'd";
      rows.push(row);
    }
    if (rows.length === 0) return own; // alone, the root lists as any single process does
    return { ...me, processes: [me, ...rows.sort((a, b) => a.pid - b.pid)] };
  }

  /**
   * A client killed the whole job (terminate): the processes in the job session (`told`) are told to end through
   * their sessions, and the root ends at once; every other process of the job still running (one that never joined,
   * a member the session could not open, another program) gets SIGTERM now. multiprocessing's resource tracker (a
   * Python child's) is left to end by itself with its program.
   */
  endTheRest(told: Set<number>): void {
    for (const pid of jobProcesses(process.pid, this.socketPath)) {
      if (told.has(pid) || commandLine(pid).includes('multiprocessing.resource_tracker')) continue;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone meanwhile
      }
    }
  }

  async select(pid: number, client: JobClient): Promise<{ capabilities: Record<string, unknown>; relay: Relay }> {
    this.wake();
    await this.#settle(() => this.#members.has(pid));
    const member = this.#members.get(pid);
    const why = member ? null : notJoined(pid, process.pid, this.socketPath, this.pids(), this.#started);
    if (why) throw why;
    if (!member || member.helper) {
      throw new LongreachError('LR_NO_SUCH_PROCESS', `no process ${pid} is reachable through this address; its processes: ${this.pids().join(', ')} (see longreach list)`);
    }
    const link = await this.openSession(member, client.peer);
    if (!link && member.dormant) {
      throw new LongreachError('LR_TIMEOUT', `process ${pid} did not start its debugger within ${OPEN_TIMEOUT_MS / 1000} s: it joined the job dormant (no debugger thread yet: a process of a Node.js job that nobody debugs starts one when first asked, or once it has run LONGREACH_JOB_WAKE seconds) and can start one only between two turns of its event loop, so it is busy in synchronous code or stuck; try again once it yields`);
    }
    if (!link) throw new LongreachError('LR_TIMEOUT', `process ${pid} did not open a debugging session within ${OPEN_TIMEOUT_MS / 1000} s (it may be ending or stuck); try again or attach to another process`);
    return { capabilities: { ...member.capabilities }, relay: new Relay(client, link, pid) };
  }

  /** Asks `member` to open a session for a client at `peer`: its link, or null when it ended or did not answer in time. */
  openSession(member: Member, peer: string): Promise<Link | null> {
    const cut = peer.lastIndexOf(':');
    const host = cut > 0 ? peer.slice(0, cut).replace(/^\[|\]$/g, '') : peer;
    const port = cut > 0 ? Number(peer.slice(cut + 1)) || 0 : 0;
    return new Promise<Link | null>((resolve) => {
      const ask = this.#newAsk((link) => resolve(link ?? null), 1);
      ask.pid = member.pid;
      ask.peer = [host, port];
      if (!member.link.send({ type: 'open', id: ask.id, peer: ask.peer })) ask.done();
      setTimeout(() => ask.done(), OPEN_TIMEOUT_MS).unref();
    });
  }

  // ---- waking the job -------------------------------------------------------------------------------------------
  /**
   * A client asks for the job: from now on its processes join (the `awake` file, never removed: the folder goes with
   * the root). Until then a child that has not called the agent does not join, so a job nobody looks at costs its
   * children nothing more than a look at that file now and then.
   */
  wake(): void {
    if (this.#awakeAt !== null) return;
    try {
      writeFileSync(awakeFlag({ socket: this.socketPath }), '', { mode: 0o600 });
    } catch (err) {
      log('agent', `job gateway: cannot wake the job's processes: ${(err as Error).message}`);
    }
    this.#awakeAt = performance.now();
  }

  /**
   * Just after the first wake: lets the processes that are joining now do so (at least SETTLE_MIN_MS, then until
   * none has joined for SETTLE_QUIET_MS, at most SETTLE_MAX_MS after the wake), or less once `until()` holds.
   * Asynchronous: the event loop serves their hellos meanwhile.
   */
  async #settle(until?: () => boolean): Promise<void> {
    const start = this.#awakeAt;
    if (start === null || !hasChildren()) return; // (a program with no child process has nobody to wait for)
    for (;;) {
      const now = performance.now();
      if (now >= start + SETTLE_MAX_MS || until?.()) return;
      if (now >= start + SETTLE_MIN_MS && now >= this.#lastJoin + SETTLE_QUIET_MS) return;
      await sleep(SETTLE_STEP_MS);
    }
  }

  // ---- a session over the whole job -----------------------------------------------------------------------------
  /** The session of a client that attached to this process without ?pid=: it spans the job. */
  jobSession(context: SessionContext, makeRoot: (context: SessionContext) => DebugSessionHandler): DebugSessionHandler {
    const session = new JobSession(this, context, makeRoot, () => this.#sessionEnded(session));
    this.#session = session;
    this.wake(); // processes that join from now on are brought into the session as they come
    try {
      writeFileSync(join(this.folder, 'attached'), '', { mode: 0o600 });
    } catch {
      // new processes then simply do not wait for their breakpoints
    }
    return session;
  }

  #sessionEnded(session: JobSession): void {
    if (this.#session !== session) return;
    this.#session = null;
    try {
      unlinkSync(join(this.folder, 'attached'));
    } catch {
      // already gone
    }
  }

  // ---- connections from the job's processes ---------------------------------------------------------------------
  #serve(link: Link): void {
    const timer = setTimeout(() => {
      log('agent', 'job gateway: refused a local connection that did not say hello in time');
      link.close();
    }, HELLO_TIMEOUT_MS).unref();
    link.once('close', () => clearTimeout(timer));
    link.once('message', (hello) => {
      clearTimeout(timer);
      if (hello.type !== 'hello' || !this.#tokenOk(hello.token) || !Number.isInteger(hello.pid)) {
        log('agent', 'job gateway: refused a local connection without the job token');
        link.close();
        return;
      }
      link.trust();
      if (hello.kind === 'control') this.#control(link, hello);
      else if (hello.kind === 'session') this.#sessionLink(link, hello);
      else link.close();
    });
  }

  #control(link: Link, hello: JobMessage): void {
    const pid = hello.pid as number;
    const image = typeof hello.image === 'string' ? hello.image : null;
    const old = this.#members.get(pid);
    if (image !== null && old?.image === image) {
      // the same process image again: the worker of a dormant member taking its place, or (a late dormant hello)
      // one that already did
      if (hello.woke === true && old.dormant) return this.#awaken(old, link, hello);
      return void link.close();
    }
    const member: Member = {
      pid,
      ppid: Number.isInteger(hello.ppid) ? (hello.ppid as number) : null,
      link,
      capabilities: isObject(hello.capabilities) ? hello.capabilities : {},
      helper: hello.helper === true,
      execd: this.#seen.has(pid),
      info: isObject(hello.info) ? (hello.info as unknown as ProcessInfo) : null,
      dormant: hello.dormant === true,
      image,
    };
    this.#members.set(pid, member);
    this.#seen.add(pid);
    this.#lastJoin = performance.now();
    old?.link.close(); // the same pid again: an exec; the old image's link is stale
    log('agent', `job: process ${pid} (parent ${member.ppid}) joined${member.helper ? ' as a helper' : member.dormant ? ' dormant' : ''}`);
    this.#watch(member, link);
    if (this.#session && !member.helper) void this.#session.join(member).catch((err: unknown) => log('agent', `job: process ${pid} could not join the session: ${String(err)}`));
  }

  /** A member's control link: its answers, and its end (the process's, unless another link took its place). */
  #watch(member: Member, link: Link): void {
    const pid = member.pid;
    link.on('message', (message) => {
      if (message.type === 'info') this.#answer(message.id, pid, message.info);
    });
    link.on('close', () => {
      // (a member replaced by an exec under the same pid, or woken, has not left)
      if (this.#members.get(pid) === member && member.link === link) {
        this.#members.delete(pid);
        if (!member.helper) this.#session?.left(member);
        log('agent', `job: process ${pid} left`);
      }
    });
  }

  /** A dormant member's worker took its place: the same member (a job session keeps it), its link, its opens. */
  #awaken(member: Member, link: Link, hello: JobMessage): void {
    const stale = member.link;
    member.link = link;
    member.dormant = false;
    if (isObject(hello.capabilities)) member.capabilities = hello.capabilities;
    if (isObject(hello.info)) member.info = hello.info as unknown as ProcessInfo;
    this.#watch(member, link);
    stale.close();
    log('agent', `job: process ${member.pid} woke`);
    for (const ask of this.#asks.values()) {
      if (ask.pid === member.pid && ask.peer && !link.send({ type: 'open', id: ask.id, peer: ask.peer })) ask.done();
    }
    // a job session whose open it could not answer in time (busy in synchronous code) brings it in now
    this.#session?.woke(member);
  }

  #sessionLink(link: Link, hello: JobMessage): void {
    const ask = typeof hello.id === 'number' ? this.#asks.get(hello.id) : undefined;
    if (!ask || ask.pid !== hello.pid) return void link.close();
    ask.done(link);
  }

  // ---- questions to the processes -------------------------------------------------------------------------------
  #newAsk(finish: (link?: Link) => void, expect: number): Ask {
    const id = ++this.#nextAsk;
    let settled = false;
    const ask: Ask = {
      id,
      expect,
      answers: new Map(),
      done: (link) => {
        if (settled) {
          link?.close();
          return;
        }
        settled = true;
        this.#asks.delete(id);
        finish(link);
      },
    };
    this.#asks.set(id, ask);
    return ask;
  }

  #answer(id: unknown, pid: number, info: unknown): void {
    const ask = typeof id === 'number' ? this.#asks.get(id) : undefined;
    if (!ask || !isObject(info)) return;
    ask.answers.set(pid, info as unknown as ProcessInfo);
    if (ask.answers.size >= ask.expect) ask.done();
  }

  #askAll(members: Member[]): Promise<Map<number, ProcessInfo>> {
    return new Promise((resolve) => {
      const ask = this.#newAsk(() => resolve(ask.answers), members.length);
      for (const m of members) m.link.send({ type: 'info', id: ask.id });
      setTimeout(() => ask.done(), INFO_TIMEOUT_MS).unref();
    });
  }

  /** A process forked by a helper (Python multiprocessing's fork server) is shown under the helper's parent. */
  #visibleParent(ppid: number | null): number | null {
    const seen = new Set<number>();
    let p = ppid;
    while (p !== null && !seen.has(p)) {
      const m = this.#members.get(p);
      if (!m?.helper) break;
      seen.add(p);
      p = m.ppid;
    }
    return p;
  }

  #tokenOk(offered: unknown): boolean {
    return typeof offered === 'string' && timingSafeEqual(digest(offered), this.#token);
  }
}

/** Equal-length digests, so the comparison takes the same time whatever was offered. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

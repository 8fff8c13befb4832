// The agent's worker thread: runs the debug server (src/server) and drives the main thread's V8 through the
// inspector. It never writes to the program's console, never pauses itself (only the main thread is debugged),
// and the main thread unrefs it, so it never keeps the process alive.

import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { LongreachError } from '../../protocol/errors.js';
import { log, logEnabled } from '../../protocol/log.js';
import type { Cdp } from '../inspector/cdp.js';
import type { SessionContext } from '../../server/gate.js';
import { nodeProcessInfo } from '../../server/process-info.js';
import type { ServerOptions } from '../../server/server.js';
import type { Gateway } from '../job/gateway.js';
import { SLOT, slots, writeResult, type ToWorker, type WorkerConfig } from '../shared.js';
import { CAPABILITIES } from './capabilities.js';
import type { NodeDebugSession } from './session.js';

interface Boot extends WorkerConfig {
  tls?: { cert: string; key: string };
}

const config = workerData as Boot;
const shared = slots(config.state);
let active: NodeDebugSession | null = null;
let closed = 0;
/** The last sessions' exit from the inspector; the next session waits for it (NodeDebugSession.detached). */
let teardown: Promise<void> = Promise.resolve();

/**
 * The debug session's code, two thirds of this worker's modules, is loaded at the first attach (the gate waits for
 * it, prepareSession below), not at start: a program nobody attaches to never pays for it (docs/performance-jobs.md).
 */
interface SessionCode {
  session: typeof import('./session.js');
  cdp: typeof import('../inspector/cdp.js');
  workers: typeof import('./threads/workers.js');
}
let code: SessionCode | null = null;
let loading: Promise<void> | null = null;
/**
 * The main thread's inspector session, connected at the first attach and kept until the program exits (the exit hook
 * below ends it), lent to each debugging session in turn: Node.js 20 leaves ~1.1 KB of native memory behind for
 * every session connected to the main thread and disconnected again (bench/soak/sessions.ts). Each debugging
 * session gives it back as it found it (V8Runtime.release).
 */
let inspector: Cdp | null = null;

function prepareSession(): Promise<void> | null {
  if (code) return null;
  if (!loading) {
    loading = Promise.all([import('./session.js'), import('../inspector/cdp.js'), import('./threads/workers.js')]).then(([session, cdp, workers]) => {
      inspector = new cdp.Cdp();
      // While this worker holds an inspector session, the main thread's exit hook asks it to end them all (below).
      cdp.watchOpenSessions((count) => Atomics.store(shared, SLOT.LINGERING, count > 0 ? 1 : 0));
      code = { session, cdp, workers };
    });
    loading.catch(() => {
      loading = null; // the next attach tries again (the gate has told this one why it failed)
    });
  }
  return loading;
}

function ack(): void {
  Atomics.add(shared, SLOT.ACK, 1);
  Atomics.notify(shared, SLOT.ACK);
}

parentPort?.on('message', (message: ToWorker) => {
  if (message.kind === 'output') {
    active?.output(message.category, message.text);
  } else if (message.kind === 'break') {
    const session = active;
    if (!session) return ack();
    session.prepareBreak().then(ack, ack);
  } else if (message.kind === 'stop') {
    // the answer: 0 when the tag names no live breakpoint of this session, whose `debugger` statement then does not run
    const answer = (live: boolean): void => {
      Atomics.store(shared, SLOT.STOP, live ? 1 : 0);
      ack();
    };
    if (!active) return answer(false);
    active.prepareStop(message.tag).then(answer, ack);
  } else if (message.kind === 'exit') {
    // Give the socket a turn of the loop to flush before the main thread lets the process end (and the session
    // time to release the worker threads it stopped).
    void Promise.resolve(active?.exiting(message.code)).finally(() => {
      code?.workers.endLingering();
      code?.cdp.disconnectAll(); // no session may outlive this answer: the main thread goes on to end the process
      setImmediate(ack);
    });
  }
});

/** Called by the gate only after prepareSession has loaded the session's code. */
function createSession(context: SessionContext): NodeDebugSession {
  if (!code || !inspector) throw new LongreachError('LR_INTERNAL', 'the debug session was opened before its code was loaded');
  const session = new code.session.NodeDebugSession(context, config, shared, inspector, teardown);
  const close = session.close.bind(session);
  session.close = async () => {
    if (active === session) active = null;
    const done = close();
    // every earlier session's teardown too: one that closed before attaching is gone at once, its predecessor not yet
    const earlier = teardown;
    teardown = Promise.all([earlier, session.detached]).then(() => undefined);
    await done;
    // What a session allocated here (a few hundred scriptParsed records, source maps, handles) is garbage now.
    // When the program runs with --expose-gc (flags are process-wide), collect it every few detaches, off the
    // program's thread: this isolate's heap then stays flat across attaches instead of growing until V8's next
    // full collection (npm run bench:soak runs its program so).
    const n = ++closed;
    if (n % 8 === 0) setImmediate(() => collect(n));
  };
  active = session;
  return session;
}

// ---- jobs (docs/protocol.md 5.3): a job's root also serves its gateway (and a client attached without ?pid=
// debugs the whole job); a member dials the root's gateway instead of listening anywhere.
const job = config.job;
let gateway: Gateway | null = null;
const sessionFor = (context: SessionContext) => (gateway && !context.selected ? gateway.jobSession(context, createSession) : createSession(context));
const started: Promise<{ host: string; port: number }> =
  job?.role === 'member'
    ? import('../job/member.js')
        .then(({ startMember }) =>
          startMember({ socket: job.socket, token: job.token, label: job.label, ...(job.image ? { image: job.image } : {}), argv: config.argv, capabilities: CAPABILITIES, createSession: sessionFor, prepareSession }),
        )
        .then(() => ({ host: '', port: 0 }))
    : (job?.role === 'root' ? import('../job/gateway.js').then(({ Gateway }) => (gateway = new Gateway(job.folder, job.token)).listen()) : Promise.resolve()).then(() =>
        serve({
          secret: config.secret,
          host: config.host,
          port: config.port,
          ...(config.tls ? { tls: config.tls } : {}),
          allowPlainSecret: config.allowPlainSecret,
          agentName: 'longreach-node',
          capabilities: CAPABILITIES,
          createSession: sessionFor,
          prepareSession,
          // the program's argv: this worker's own names the worker
          processInfo: (attached) => nodeProcessInfo(attached, config.argv),
          ...(gateway ? { job: gateway } : {}),
        }),
      );

started.then(
  (server) => {
    writeResult(config.state, { host: server.host, port: server.port });
    Atomics.store(shared, SLOT.STATE, 1);
    Atomics.notify(shared, SLOT.STATE);
  },
  (err: unknown) => {
    const e = err instanceof LongreachError ? err : new LongreachError('LR_INTERNAL', String((err as Error)?.message ?? err));
    log('agent', `debug server failed to start: ${e.message}`);
    writeResult(config.state, { code: e.code, message: e.message });
    Atomics.store(shared, SLOT.STATE, 2);
    Atomics.notify(shared, SLOT.STATE);
    if (job?.role === 'member') process.exit(0); // no gateway to join: this worker has nothing to do
  },
);

/** A full collection of this isolate (--expose-gc only); LONGREACH_LOG=agent records the live heap after it. */
function collect(sessions: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  gc();
  if (!logEnabled('agent')) return;
  const heap = getHeapStatistics();
  log('agent', `agent heap after ${sessions} sessions: ${heap.used_heap_size} bytes (${heap.total_physical_size} resident)`);
}

/** Listens, or dials the hub (reverse connect); only that module is loaded. */
async function serve(options: ServerOptions): Promise<{ host: string; port: number }> {
  if (config.connect) return dialHub(options);
  const { startServer } = await import('../../server/server.js');
  return startServer(options);
}

/** Reverse connect (docs/protocol.md 11): dial the hub instead of listening; resolves with the hub's address. */
async function dialHub(options: ServerOptions): Promise<{ host: string; port: number }> {
  const hub = config.connect!;
  if (options.secret === null) throw new LongreachError('LR_BAD_OPTION', 'connect needs a secret: the hub must prove that it knows it');
  const { host: _host, port: _port, tls: _tls, ...rest } = options;
  const { startDialer } = await import('../../server/dial.js');
  return startDialer({
    ...rest,
    secret: options.secret,
    hub: { host: hub.host, port: hub.port },
    ...(hub.ca !== undefined ? { ca: hub.ca } : {}),
    ...(hub.fingerprint !== undefined ? { fingerprint: hub.fingerprint } : {}),
  });
}

// The agent's worker thread: runs the debug server (src/server) and drives the main thread's V8 through the
// inspector. It never writes to the program's console, never pauses itself (only the main thread is debugged),
// and the main thread unrefs it, so it never keeps the process alive.

import { parentPort, workerData } from 'node:worker_threads';
import { LongreachError } from '../../protocol/errors.js';
import { log } from '../../protocol/log.js';
import { startDialer } from '../../server/dial.js';
import { startServer, type ServerOptions } from '../../server/server.js';
import { SLOT, slots, writeResult, type ToWorker, type WorkerConfig } from '../shared.js';
import { CAPABILITIES, NodeDebugSession } from './session.js';

interface Boot extends WorkerConfig {
  tls?: { cert: string; key: string };
}

const config = workerData as Boot;
const shared = slots(config.state);
let active: NodeDebugSession | null = null;
let closed = 0;

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
  } else if (message.kind === 'exit') {
    // Give the socket a turn of the loop to flush before the main thread lets the process end (and the session
    // time to release the worker threads it stopped).
    void Promise.resolve(active?.exiting(message.code)).finally(() => setImmediate(ack));
  }
});

const serve = config.connect ? dialHub : startServer;

serve({
  secret: config.secret,
  host: config.host,
  port: config.port,
  ...(config.tls ? { tls: config.tls } : {}),
  allowPlainSecret: config.allowPlainSecret,
  agentName: 'longreach-node',
  capabilities: CAPABILITIES,
  createSession: (context) => {
    const session = new NodeDebugSession(context, config, shared);
    const close = session.close.bind(session);
    session.close = async () => {
      if (active === session) active = null;
      await close();
      // What a session allocated here (a few hundred scriptParsed records, source maps, handles) is garbage now.
      // When the program runs with --expose-gc (flags are process-wide), collect it every few detaches, off the
      // program's thread: this isolate's heap then stays flat across attaches instead of growing until V8's next
      // full collection (npm run bench:soak runs its program so).
      if (++closed % 8 === 0) setImmediate(() => (globalThis as { gc?: () => void }).gc?.());
    };
    active = session;
    return session;
  },
}).then(
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
  },
);

/** Reverse connect (docs/protocol.md 11): dial the hub instead of listening; resolves with the hub's address. */
async function dialHub(options: ServerOptions): Promise<{ host: string; port: number }> {
  const hub = config.connect!;
  if (options.secret === null) throw new LongreachError('LR_BAD_OPTION', 'connect needs a secret: the hub must prove that it knows it');
  const { host: _host, port: _port, tls: _tls, ...rest } = options;
  return startDialer({
    ...rest,
    secret: options.secret,
    hub: { host: hub.host, port: hub.port },
    ...(hub.ca !== undefined ? { ca: hub.ca } : {}),
    ...(hub.fingerprint !== undefined ? { fingerprint: hub.fingerprint } : {}),
  });
}

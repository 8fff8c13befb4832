// A process of a job other than its root, in the agent's worker (docs/protocol.md 5.3): it dials the gateway's
// Unix socket (it never listens), says hello with the job token, and keeps that control link for its life,
// answering the gateway's questions: its process info (listings), and `open` (a client selected this process, or
// a job session wants it: dial a session socket and serve it as an authenticated DAP connection through the same
// gate as any client's). When the gateway goes away the link ends and nothing is left listening. The wire is the
// Python agent's (python/longreach/job/member.py). A worker that wakes a dormant member (job/dormant.cts) says so in
// its hello (`woke`, with the dormant hello's `image`), and the gateway gives it that member's place.

import { connect, type Socket } from 'node:net';
import { DapConnection } from '../../protocol/connection.js';
import { encodeFrame } from '../../protocol/framing.js';
import { log } from '../../protocol/log.js';
import { formatAddress } from '../../protocol/qualifier.js';
import type { ProcessInfo } from '../../protocol/process-info.js';
import { Gate, type SessionFactory, type SessionPreparer } from '../../server/gate.js';
import { nodeProcessInfo } from '../../server/process-info.js';
import { createGateShared } from '../../server/server.js';
import { Link, type JobMessage } from './link.js';

export interface MemberOptions {
  socket: string;
  token: string;
  label: string;
  /** Set when this worker wakes a dormant member (job/dormant.cts): the gateway gives it that member's place. */
  image?: string;
  argv: string[];
  capabilities: Record<string, unknown>;
  createSession: SessionFactory;
  prepareSession?: SessionPreparer;
}

const DIAL_TIMEOUT_MS = 5_000;

function dial(path: string): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect(path);
    socket.unref();
    const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${DIAL_TIMEOUT_MS} ms`)), DIAL_TIMEOUT_MS).unref();
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

/** Joins the job; rejects (leaving nothing behind) when the gateway cannot be reached. */
export async function startMember(options: MemberOptions): Promise<void> {
  const shared = createGateShared({ secret: null, agentName: 'longreach-node', capabilities: options.capabilities, createSession: options.createSession, ...(options.prepareSession ? { prepareSession: options.prepareSession } : {}) });
  const info = (): ProcessInfo => {
    const attached = shared.attached ? { address: shared.attached.address, since: shared.attached.since } : null;
    return { ...nodeProcessInfo(attached), argv: options.argv.slice(1), ppid: process.ppid, label: options.label, waiting: null };
  };
  const link = new Link(await dial(options.socket));
  link.trust();
  const hello = { type: 'hello', kind: 'control', token: options.token, pid: process.pid, ppid: process.ppid, helper: false, capabilities: options.capabilities, info: info(), ...(options.image ? { woke: true, image: options.image } : {}) };
  if (!link.send(hello)) throw new Error('the gateway closed the connection');
  link.on('message', (message) => {
    if (message.type === 'info') link.send({ type: 'info', id: message.id, info: info() });
    else if (message.type === 'open') void open(options, shared, message).catch((err: unknown) => log('agent', `job: cannot open a session with the gateway: ${String(err)}`));
  });
  link.on('close', () => log('agent', "job: the job's gateway went away; this process is no longer reachable"));
}

async function open(options: MemberOptions, shared: ReturnType<typeof createGateShared>, message: JobMessage): Promise<void> {
  const peer = message.peer;
  const address = Array.isArray(peer) && typeof peer[0] === 'string' && Number.isInteger(peer[1]) ? formatAddress(peer[0], peer[1] as number) : 'the job gateway';
  const socket = await dial(options.socket);
  socket.write(encodeFrame({ type: 'hello', kind: 'session', token: options.token, pid: process.pid, id: message.id }));
  // From here the socket is an authenticated DAP connection: the gateway admitted the client.
  const conn = new DapConnection(socket, { peer: address });
  new Gate(conn, shared, { isTls: false, address, authTimeoutMs: DIAL_TIMEOUT_MS, authenticated: true });
}

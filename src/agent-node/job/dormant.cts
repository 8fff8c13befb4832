// A process of a Node.js job that joined with nobody debugging it (docs/protocol.md 5.3), on the program's main
// thread: it dials the gateway's Unix socket and says hello as `dormant`, answers listings, and starts no agent
// worker. A worker thread is a V8 isolate and a Node.js of its own (about 100 ms of CPU and several MB with the
// agent's modules), which a job of many processes that nobody debugs would pay in every one of them. The worker
// starts when the gateway first asks this process to `open` a session (a client selected it, or a job session
// wants it), or once the process has run the job's `dormant` seconds (LONGREACH_JOB_WAKE in the root's
// environment, default 60), whichever comes first: the gateway then takes the worker's control link in place of
// this one (the same `image`) and hands it the opens it asked for meanwhile.
//
// The trade-off: until it is awake a process answers only between two turns of its event loop, so one busy in
// synchronous code cannot be opened until it yields; once awake it can, as any member can. Only a Node.js root's
// gateway admits dormant members (LONGREACH_JOB says `dormant`).
//
// CommonJS (compiled to dormant.cjs), like hook.cjs, and so are the few modules it needs (variable.cjs, link.cjs,
// framing.cjs and errors.cjs, process-info.cjs and version.cjs): as ES modules they cost every such child about
// 25 ms of CPU, require() of CommonJS about 2 (docs/performance-jobs.md).

import { connect } from 'node:net';
import { nodeProcessInfo } from '../../server/process-info.cjs';
import { Link } from './link.cjs';
import { DORMANT, processLabel, type JobConfig } from './variable.cjs';

type Api = typeof import('../api.js');

export interface DormantOptions {
  socket: string;
  token: string;
  label: string;
  argv: string[];
  /** This process image (exec keeps the pid): the awake hello names it too, so the gateway pairs the two. */
  image: string;
  /** How long after its start the process wakes even if nobody asked. */
  wakeAfterMs: number;
}

/**
 * A child of a Node.js root's job with nobody debugging the whole job, once the job is awake (job/hook.cts,
 * register.ts): join dormant, loading nothing more than this module; the agent (api.js) only when it wakes.
 */
export function joinDormant(config: JobConfig): void {
  if (DORMANT in globalThis) return;
  const image = `${process.pid}@${performance.timeOrigin}`;
  const handle = doze({ socket: config.socket, token: config.token, label: processLabel(), argv: [...process.argv], image, wakeAfterMs: config.dormant * 1000 }, () => {
    import('../api.js').then((api: Api) => api.wakeMember(config, image), () => undefined);
  });
  // what closes the link, for api.ts's enableAttach: a process that listens itself leaves the job
  Object.defineProperty(globalThis, DORMANT, { value: handle, configurable: true });
}

/**
 * Joins dormant; `wake` starts the agent worker (once). Never throws: a gateway that cannot be reached leaves the
 * process alone. Returns what closes the link (a process that listens itself leaves the job).
 */
export function doze(options: DormantOptions, wake: () => void): { close(): void } {
  let woken = false;
  let timer: NodeJS.Timeout | undefined;
  const rouse = (): void => {
    if (woken) return;
    woken = true;
    clearTimeout(timer);
    wake();
  };
  const info = () => ({ ...nodeProcessInfo(null, options.argv), ppid: process.ppid, label: options.label, waiting: null });
  const socket = connect(options.socket);
  socket.unref();
  const link = new Link(socket);
  socket.once('connect', () => {
    link.trust();
    link.send({ type: 'hello', kind: 'control', token: options.token, pid: process.pid, ppid: process.ppid, helper: false, capabilities: {}, info: info(), dormant: true, image: options.image });
    // from here on the gateway knows this image, so the awake hello that follows can take its place
    timer = setTimeout(rouse, Math.max(0, options.wakeAfterMs - performance.now())).unref();
  });
  link.on('message', (message) => {
    if (message.type === 'info') link.send({ type: 'info', id: message.id, info: info() });
    else if (message.type === 'open') rouse();
  });
  // the gateway went away, or took the awake worker's link instead of this one
  link.on('close', () => clearTimeout(timer));
  return {
    close: () => {
      clearTimeout(timer);
      link.close();
    },
  };
}

// The hook every Node.js child of a job loads before its own code (docs/protocol.md 5.3): the root puts
// `--require=<this file>` in the NODE_OPTIONS its children inherit, where require() loads ES modules synchronously
// (job/config.ts hookFlag; elsewhere `--import` of register.js, which does the same from an ES module). CommonJS
// (compiled to hook.cjs) because `--import` of any ES module costs a Node.js process the start of its ES module
// loader, about a tenth of a short-lived child's CPU time; this file and variable.cjs cost next to nothing.
//
// - LONGREACH_JOB names a job of another process: while a client is attached to the whole job (its `attached` file
//   exists) join at once, synchronously, held until the session has set this process's breakpoints (require() of
//   api.js: its module graph has no top-level await); otherwise join once the job is awake (a client has asked for
//   it: its `awake` file exists, looked for at its start, then every AWAKE_POLL_MS on an unref'd timer, variable.cts
//   whenAwake), never held: dormant under a Node.js root (require() of job/dormant.cjs, no agent worker until the
//   gateway asks for one), else import() of api.js. A job nobody asks for: its children never join. A root with
//   following off, or no job at all: nothing.
// - Once per process (the main thread only), with register.ts's guard: an inherited NODE_OPTIONS and an explicit
//   `--import longreach/register` start one agent. Preloads also run in worker threads; which thread this is, is
//   asked only when it joins (node:worker_threads costs a few milliseconds to load), so a worker thread never joins.

import { existsSync } from 'node:fs';
import { JOB_ENV, attachedFlag, decodeJob, requireEsmSilently, whenAwake, type JobConfig } from './variable.cjs';

type Api = typeof import('../api.js');
type Dormant = typeof import('./dormant.cjs');

const ONCE = Symbol.for('longreach.register');
const job = ONCE in globalThis ? null : decodeJob(process.env[JOB_ENV]);

if (job && job.root !== process.pid) {
  Object.defineProperty(globalThis, ONCE, { value: true });
  if (job.kind === 'join') start(job.config);
}

function start(config: JobConfig): void {
  if (existsSync(attachedFlag(config))) {
    if (!mainThread()) return;
    // a Node.js without a silent require(esm) (another binary than the root's): at once, held from its first turn
    if (!requireEsmSilently(process.features.require_module, process.versions.node)) return joinLater(config, true);
    try {
      (require('../api.js') as Api).joinJob(config);
    } catch {
      // the program runs on undebugged
    }
    return;
  }
  whenAwake(config, () => {
    if (mainThread()) joinLater(config, false);
  });
}

function joinLater(config: JobConfig, hold: boolean): void {
  if (!hold && config.dormant) {
    // a Node.js root's job: join dormant (job/dormant.cts, CommonJS like this file, on any Node.js), which loads the
    // agent only when the gateway asks for it
    try {
      (require('./dormant.cjs') as Dormant).joinDormant(config);
    } catch {
      // the program runs on undebugged
    }
    return;
  }
  import('../api.js').then((api) => api.joinJob(config, { hold }), () => undefined);
}

function mainThread(): boolean {
  return (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
}

// `node --import longreach/register app.js` (or NODE_OPTIONS="--import longreach/register"): starts the agent
// before the program, configured by environment variables, without any change to the program.
//
//   LONGREACH_LISTEN        [HOST:]PORT to listen on (default 127.0.0.1:5678)
//   LONGREACH_SECRET_FILE   file whose first line is the secret (preferred), or
//   LONGREACH_SECRET        the secret itself (removed from the environment once read)
//   LONGREACH_NO_SECRET=1   let anyone attach (ptvsd 3 semantics; warns beyond loopback)
//   LONGREACH_CERTFILE / LONGREACH_KEYFILE   serve TLS (tcps://)
//   LONGREACH_CONNECT       HOST:PORT of a hub (longreach listen) to dial instead of listening (reverse connect)
//   LONGREACH_CA / LONGREACH_FINGERPRINT     trust the hub's TLS certificate (a CA file, or sha256:HEX)
//   LONGREACH_WAIT          1 to wait for a debugger before the program starts, or a number of seconds
//   LONGREACH_SUBPROCESS    0 not to follow child processes (default: they join this process's job)
//   LONGREACH_JOB_HOLD      seconds a new child waits for a job session's breakpoints (default 5)
//   LONGREACH_JOB_WAKE      seconds a child that joined dormant runs before it starts its agent worker unasked
//                           (default 60; 0: children start it when they join)
//
// A child of a debugged job (LONGREACH_JOB in its environment, inherited with NODE_OPTIONS) joins the job instead
// of listening (docs/protocol.md 5.3). Where require() loads ES modules synchronously (Node.js 20.19, 22.13 and
// later) the root gives its children job/hook.cjs instead (`--require`: a CommonJS file costs a process no ES
// module loader), which does what the first branch below does; this file does it where only `--import` can.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { JOB_ENV, attachedFlag, decodeJob, whenAwake, type JobConfig } from './job/config.js';

// The agent itself is imported only where it starts: a worker thread of the program, or a child whose root does not
// follow children, loads nothing more than this file and job/config.js (with job/variable.cjs). A child of a job with nobody debugging the
// whole job joins it only once the job is awake (a client has asked for it: job/variable.cts whenAwake looks for its
// `awake` file every AWAKE_POLL_MS, on a timer that never keeps the process alive): in a job nobody asks for, a
// child costs no more than this file (docs/performance-jobs.md, Node.js).

// Once per process, even when two copies of the package are imported (an inherited NODE_OPTIONS and a --import);
// job/hook.cjs shares the guard, so its --require and an explicit --import of this file start one agent.
const ONCE = Symbol.for('longreach.register');
const first = isMainThread && !(ONCE in globalThis);
if (first) Object.defineProperty(globalThis, ONCE, { value: true });
const job = first ? decodeJob(process.env[JOB_ENV]) : null;

if (job && job.root !== process.pid) {
  // a child of a debugged job: join it (or stay alone, when its root does not follow children); at once, held for
  // its breakpoints, while a client debugs the whole job
  const config = job.kind === 'join' ? job.config : null;
  if (config && existsSync(attachedFlag(config))) (await import('./api.js')).joinJob(config);
  else if (config) whenAwake(config, () => void joinLater(config));
} else if (first) {
  const { LongreachError } = await import('../protocol/errors.js');
  const { enableAttach, waitForAttach } = await import('./api.js');
  const { configFromEnv } = await import('./register-config.js');
  try {
    const config = configFromEnv(process.env);
    delete process.env.LONGREACH_SECRET;
    enableAttach(config.options);
    if (config.wait !== null) waitForAttach(config.wait === Infinity ? {} : { timeout: config.wait });
  } catch (err) {
    const code = err instanceof LongreachError ? ` [${err.code}]` : '';
    process.stderr.write(`longreach: cannot start the debug server${code}: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** A late join: dormant under a Node.js root (job/dormant.cts: no agent worker until the gateway asks), else awake. */
function joinLater(config: JobConfig): Promise<void> {
  // (require(), not import(): that would scan dormant.cjs's source for its names first; see protocol/errors.ts)
  if (config.dormant) return Promise.resolve().then(() => (createRequire(import.meta.url)('./job/dormant.cjs') as typeof import('./job/dormant.cjs')).joinDormant(config)).catch(() => undefined);
  return import('./api.js').then((api) => api.joinJob(config, { hold: false }), () => undefined);
}

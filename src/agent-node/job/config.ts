// What a child of a job needs to find its gateway (docs/protocol.md 5.3), for the Node.js agent. The parameters
// travel in one environment variable, LONGREACH_JOB, as the Python agent writes it (JSON: the gateway's Unix
// socket, the job token, the root's pid, output redirection, the hold), never on a command line; reading it is
// variable.cts's (CommonJS, for hook.cjs), re-exported here. A Node.js child loads the job's hook before its own
// code through NODE_OPTIONS (`--require` of hook.cjs, or `--import` of register.js where require() cannot load an
// ES module: hookFlag), which it inherits with the rest of the environment: child_process.fork, cluster workers,
// spawn/exec of node.
//
// Pure apart from reading the environment it is given; imported by the main thread (api.ts, register.ts) and the
// agent's worker alike.

import { createRequire } from 'node:module';
import type * as Variable from './variable.cjs';
import type { JobConfig } from './variable.cjs';

// require(), not an ES module import: that would make Node.js scan variable.cjs's source for its names (see
// protocol/errors.ts)
const variable = createRequire(import.meta.url)('./variable.cjs') as typeof Variable;
const { DEFAULT_WAKE, MAX_WAKE } = variable;
export const { AWAKE_POLL_MS, DEFAULT_HOLD, DORMANT, JOB_ENV, VERSION, attachedFlag, awakeFlag, decodeJob, nodeLabel, processLabel, requireEsmSilently, whenAwake } = variable;
export type { JobConfig, JobVariable } from './variable.cjs';

export const HOLD_ENV = 'LONGREACH_JOB_HOLD';
export const WAKE_ENV = 'LONGREACH_JOB_WAKE';
export const SUBPROCESS_ENV = 'LONGREACH_SUBPROCESS';

export function encodeJob(config: Omit<JobConfig, 'v'>): string {
  return JSON.stringify({ v: VERSION, socket: config.socket, token: config.token, root: config.root, redirect: config.redirect, hold: config.hold, dormant: config.dormant });
}

/** The marker a root with following off leaves for its children (no socket, no token: a Python child ignores it). */
export function encodeOff(root: number): string {
  return JSON.stringify({ v: VERSION, off: true, root });
}

/** LONGREACH_JOB_HOLD in the root's environment: seconds from 0 to 60, else the default. */
export function holdSeconds(env: NodeJS.ProcessEnv): number {
  const text = env[HOLD_ENV]?.trim();
  if (!text) return DEFAULT_HOLD;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 && value <= 60 ? value : DEFAULT_HOLD;
}

/** LONGREACH_JOB_WAKE in the root's environment: seconds from 0 (children join awake) to 3600, else the default. */
export function wakeSeconds(env: NodeJS.ProcessEnv): number {
  const text = env[WAKE_ENV]?.trim();
  if (!text) return DEFAULT_WAKE;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 && value <= MAX_WAKE ? value : DEFAULT_WAKE;
}

/**
 * The NODE_OPTIONS flag that makes a Node.js child load the job's hook before its own code: `--require` of
 * hook.cjs (`hookPath`) where require() loads ES modules synchronously and silently (requireEsmSilently), else
 * `--import` of register.js (`registerUrl`). A path with a space, a quote or a backslash is quoted as NODE_OPTIONS
 * wants it.
 */
export function hookFlag(requireEsm: boolean, hookPath: string, registerUrl: string): string {
  if (!requireEsm) return `--import=${registerUrl}`;
  return /[\s"\\]/.test(hookPath) ? `--require="${hookPath.replace(/["\\]/g, '\\$&')}"` : `--require=${hookPath}`;
}

/** NODE_OPTIONS with the hook's flag (hookFlag) added once, so every Node.js child loads it first. */
export function withHook(nodeOptions: string | undefined, flag: string): string {
  const current = nodeOptions?.trim() ?? '';
  if (current.includes(flag)) return current;
  return current ? `${current} ${flag}` : flag;
}


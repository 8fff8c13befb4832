// What LONGREACH_JOB says (docs/protocol.md 5.3): the variable a child of a job finds in its environment. CommonJS
// (compiled to variable.cjs) so that hook.cjs, the hook every Node.js child of a job loads before its own code, can
// require() it for next to nothing: loading an ES module there would start the ES module loader in every child. The
// ES modules take it through job/config.js, which re-exports it.
//
// With what a member of a job calls itself (processLabel, also for job/dormant.cjs), and the job folder's flags
// (attachedFlag, awakeFlag; whenAwake looks for the latter). Pure apart from reading the environment, processLabel's
// look at this process and whenAwake's at the awake flag.

import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const JOB_ENV = 'LONGREACH_JOB';
export const VERSION = 1;
export const DEFAULT_HOLD = 5;
/** Seconds a dormant member of a Node.js job runs before it starts its agent worker unasked (LONGREACH_JOB_WAKE). */
export const DEFAULT_WAKE = 60;
export const MAX_WAKE = 3600;
/** How often a Node.js child that has not joined its job yet looks whether the job is awake (awakeFlag, whenAwake). */
export const AWAKE_POLL_MS = 250;

export interface JobConfig {
  v: 1;
  socket: string;
  token: string;
  root: number;
  redirect: boolean;
  hold: number;
  /** Seconds a process that joins dormant (job/dormant.cts) runs before it starts its agent worker unasked; 0: it joins
   * awake. A Node.js root says (LONGREACH_JOB_WAKE), a Python root does not (its gateway has no dormant members). */
  dormant: number;
}

/** What LONGREACH_JOB says: a job to join, "not following" (the root turned following off), or nothing usable. */
export type JobVariable = { kind: 'join'; root: number; config: JobConfig } | { kind: 'off'; root: number } | null;

/** Reads LONGREACH_JOB; a stale, foreign or malformed value is null (the process then runs as if it were absent). */
export function decodeJob(text: string | undefined): JobVariable {
  if (!text) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (v.v !== VERSION || !Number.isInteger(v.root)) return null;
  if (v.off === true) return { kind: 'off', root: v.root as number };
  if (typeof v.socket !== 'string' || v.socket === '' || typeof v.token !== 'string' || v.token === '') return null;
  const hold = typeof v.hold === 'number' && v.hold >= 0 && v.hold <= 60 ? v.hold : DEFAULT_HOLD;
  return { kind: 'join', root: v.root as number, config: { v: VERSION, socket: v.socket, token: v.token, root: v.root as number, redirect: v.redirect !== false, hold, dormant: typeof v.dormant === 'number' && v.dormant > 0 && v.dormant <= MAX_WAKE ? v.dormant : 0 } };
}

/**
 * Whether require() of an ES module works here, synchronously and without a word: `process.features.require_module`
 * (Node.js 20.19, 22.12 and later, or --experimental-require-module), except where it still prints an
 * ExperimentalWarning for a module outside node_modules (22.12, 23.0-23.4, and any release with only the flag).
 */
export function requireEsmSilently(requireModule: boolean | undefined, version: string): boolean {
  if (requireModule !== true) return false;
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (major === 20) return minor >= 19;
  if (major === 22) return minor >= 13;
  if (major === 23) return minor >= 5;
  return major >= 24;
}

/** Where a dormant member of a job (job/dormant.cts) keeps what closes its link to the gateway (shared.ts re-exports it). */
export const DORMANT = Symbol.for('longreach.dormant');

/** A file that exists while a client is attached to the whole job: a new process then waits for its breakpoints. */
export function attachedFlag(config: { socket: string }): string {
  return join(dirname(config.socket), 'attached');
}

/**
 * A file that exists once a client has asked for the job (a listing, a `?pid=` selection, an attach to the whole job:
 * the gateway's wake()), never removed until the job's folder goes: a child that has not called the agent joins only
 * then, so a job nobody looks at costs its children nothing more than a look at this file now and then.
 */
export function awakeFlag(config: { socket: string }): string {
  return join(dirname(config.socket), 'awake');
}

/**
 * Calls `then` once the job is awake (its awakeFlag exists): at once when it is already, else from an unref'd timer
 * that looks every AWAKE_POLL_MS and never keeps the process alive. The looks stop with the job (its gateway's socket
 * gone: the root has exited and its folder with it).
 */
export function whenAwake(config: { socket: string }, then: () => void): void {
  const flag = awakeFlag(config);
  const look = (): void => {
    if (existsSync(flag)) return then();
    if (existsSync(config.socket)) setTimeout(look, AWAKE_POLL_MS).unref();
  };
  look();
}

/**
 * What a child process is, from what it has: a cluster worker (`cluster worker 2`, its cluster.worker.id), a
 * child_process.fork child (`fork`: it has an IPC channel), else the program's name (`worker.js`); '' when nothing
 * says (node -e).
 */
export function nodeLabel(clusterWorkerId: number | undefined, hasChannel: boolean, argv: string[]): string {
  if (clusterWorkerId !== undefined) return `cluster worker ${clusterWorkerId}`;
  if (hasChannel) return 'fork';
  const script = argv[1];
  return script ? basename(script) : '';
}

/** This process's label as a member of a job (nodeLabel). */
export function processLabel(): string {
  // node:cluster only for a child with an IPC channel (cluster workers have one): loading it costs a plain child time
  const cluster = process.channel !== undefined ? (require('node:cluster') as typeof import('node:cluster').default) : null;
  const workerId = cluster?.isWorker ? cluster.worker?.id : undefined;
  return nodeLabel(workerId, process.channel !== undefined, process.argv);
}

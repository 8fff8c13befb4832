// What a child of a job needs to find its gateway (docs/protocol.md 5.3), for the Node.js agent. The parameters
// travel in one environment variable, LONGREACH_JOB, as the Python agent writes it (JSON: the gateway's Unix
// socket, the job token, the root's pid, output redirection, the hold), never on a command line. A Node.js child
// loads the agent before its own code through NODE_OPTIONS (`--import` of register.js), which it inherits with
// the rest of the environment: child_process.fork, cluster workers, spawn/exec of node.
//
// Pure apart from reading the environment it is given; imported by the main thread (api.ts, register.ts) and the
// agent's worker alike.

import { basename, dirname, join } from 'node:path';

export const JOB_ENV = 'LONGREACH_JOB';
export const HOLD_ENV = 'LONGREACH_JOB_HOLD';
export const SUBPROCESS_ENV = 'LONGREACH_SUBPROCESS';
export const VERSION = 1;
export const DEFAULT_HOLD = 5;
/** How long a Node.js child with nobody debugging the whole job runs before it joins (starts its agent worker). */
export const JOIN_DELAY_MS = 1000;

export interface JobConfig {
  v: 1;
  socket: string;
  token: string;
  root: number;
  redirect: boolean;
  hold: number;
}

/** What LONGREACH_JOB says: a job to join, "not following" (the root turned following off), or nothing usable. */
export type JobVariable = { kind: 'join'; root: number; config: JobConfig } | { kind: 'off'; root: number } | null;

export function encodeJob(config: Omit<JobConfig, 'v'>): string {
  return JSON.stringify({ v: VERSION, socket: config.socket, token: config.token, root: config.root, redirect: config.redirect, hold: config.hold });
}

/** The marker a root with following off leaves for its children (no socket, no token: a Python child ignores it). */
export function encodeOff(root: number): string {
  return JSON.stringify({ v: VERSION, off: true, root });
}

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
  return { kind: 'join', root: v.root as number, config: { v: VERSION, socket: v.socket, token: v.token, root: v.root as number, redirect: v.redirect !== false, hold } };
}

/** LONGREACH_JOB_HOLD in the root's environment: seconds from 0 to 60, else the default. */
export function holdSeconds(env: NodeJS.ProcessEnv): number {
  const text = env[HOLD_ENV]?.trim();
  if (!text) return DEFAULT_HOLD;
  const value = Number(text);
  return Number.isFinite(value) && value >= 0 && value <= 60 ? value : DEFAULT_HOLD;
}

/** A file that exists while a client is attached to the whole job: a new process then waits for its breakpoints. */
export function attachedFlag(config: { socket: string }): string {
  return join(dirname(config.socket), 'attached');
}

/** NODE_OPTIONS with `--import <register>` added (once), so every Node.js child loads the agent first. */
export function withImport(nodeOptions: string | undefined, registerUrl: string): string {
  const current = nodeOptions?.trim() ?? '';
  if (current.includes(registerUrl)) return current;
  const flag = `--import=${registerUrl}`;
  return current ? `${current} ${flag}` : flag;
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

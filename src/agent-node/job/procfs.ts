// What /proc says about a job's processes (Linux; elsewhere these find nothing): which processes are the job's, joined
// or not (the root's descendants, and any process started with the job's LONGREACH_JOB: one whose parent exited), and,
// for `?pid=` of one that has not joined (gateway.select), whether it ever will. As python/longreach/job/wakeup.py and
// notjoined.py for the Python agent's gateway.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { LongreachError } from '../../protocol/errors.js';
import { JOB_ENV, decodeJob } from './config.js';

/** Whether this process has a child process now (Linux: /proc/PID/task/TID/children); true when it cannot tell. */
export function hasChildren(): boolean {
  const children = childrenOf(process.pid);
  return children === null || children.length > 0;
}

/** The child processes of `pid` (Linux: /proc/PID/task/TID/children, each of its threads' own), or null when that
 * cannot be read (as python/longreach/job/wakeup.py children()). */
function childrenOf(pid: number): number[] | null {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const found: number[] = [];
  let read = false;
  for (const tid of tasks) {
    try {
      found.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
      read = true;
    } catch {
      // a thread that ended since the listing
    }
  }
  return read ? found : null;
}

/** The environment process `pid` started with (/proc/PID/environ, readable for this user's processes only), or null. */
function environOf(pid: number): Map<string, string> | null {
  let block: string;
  try {
    block = readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return null;
  }
  const env = new Map<string, string>();
  for (const entry of block.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0 && !env.has(entry.slice(0, eq))) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/**
 * Whether process `pid` started with this job's LONGREACH_JOB (its gateway's socket at `socketPath`): one of the job's
 * processes, joined or not. Linux (/proc/PID/environ); false elsewhere.
 */
function startedInJob(pid: number, socketPath: string, env = environOf(pid)): boolean {
  const value = env?.get(JOB_ENV);
  const job = value === undefined ? null : decodeJob(value);
  return job?.kind === 'join' && job.config.socket === socketPath;
}

/** The fields of /proc/PID/stat after the program's name (the state first, the parent's pid next), or null. */
function statFields(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(/\s+/);
  } catch {
    return null;
  }
}

/** Whether `pid` descends from `root` (its parents' chain). */
function descends(pid: number, root: number): boolean {
  const seen = new Set<number>();
  while (pid > 1 && !seen.has(pid)) {
    seen.add(pid);
    const fields = statFields(pid);
    if (fields === null) return false;
    pid = Number(fields[1]);
    if (pid === root) return true;
  }
  return false;
}

/** The name of the executable process `pid` runs (Linux), or '' when that cannot be read. */
function programOf(pid: number): string {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return '';
  }
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** Seconds since the machine booted (/proc/uptime: the clock of a process's start in /proc/PID/stat), or null. */
export function uptime(): number | null {
  try {
    const seconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Number.isFinite(seconds) ? seconds : null;
  } catch {
    return null;
  }
}

/** Whether process `pid` started before `since` (uptime()); its start is in clock ticks, 100 a second on Linux. */
function startedBefore(pid: number, since: number): boolean {
  const ticks = Number(statFields(pid)?.[19]);
  return Number.isFinite(ticks) && ticks / 100 + 0.02 < since;
}

/** What makes a Node.js process load the agent: the job's hook in NODE_OPTIONS (or its own command line). */
const HOOK = /agent-node[/\\](job[/\\]hook\.cjs|register\.js)|longreach\/register/;

/**
 * `?pid=` of process `pid`, which has not joined the job: the error to answer, or null when it is not the job's.
 * A process that will never join (another program, a Python process, a Node.js process started without the job's
 * environment or hook) is LR_NO_SUCH_PROCESS saying why; one that has not joined *yet* (busy since the wake) is
 * LR_TIMEOUT. `pids` are the job's processes, for the message; `since`, when the gateway started (uptime()).
 */
export function notJoined(pid: number, root: number, socketPath: string, pids: number[], since: number | null): LongreachError | null {
  const env = environOf(pid);
  const named = startedInJob(pid, socketPath, env);
  if (!named && !descends(pid, root)) return null;
  const program = programOf(pid);
  if (program === '') return null;
  const never = (why: string): LongreachError =>
    new LongreachError('LR_NO_SUCH_PROCESS', `process ${pid} belongs to this job but ${why}; its processes: ${pids.join(', ')} (see longreach list)`);
  if (!/^(node|nodejs|python|pypy)/.test(program)) return never(`runs ${program}, which does not join it (only Python and Node.js processes do)`);
  if (/^(python|pypy)/.test(program)) {
    return never(`runs ${program}: a Node.js root gives its Python children no hook (docs/protocol.md 5.3), so no agent runs in it unless its own code starts one`);
  }
  if (!named && since !== null && startedBefore(pid, since)) {
    return never(`started before the agent did in the job's root (enableAttach() called late, or longreach inject), so it is not in the job: load the agent into it as well (longreach inject ${pid})`);
  }
  if (!named) {
    return never('was started without the job\'s environment (LONGREACH_JOB and NODE_OPTIONS: the program that started it gave it an environment of its own), so no agent runs in it');
  }
  if (!HOOK.test(env?.get('NODE_OPTIONS') ?? '') && !HOOK.test(commandLine(pid))) {
    return never('was started with a NODE_OPTIONS of its own, without the job\'s hook in it, so no agent runs in it (keep the inherited NODE_OPTIONS and add to it)');
  }
  return new LongreachError('LR_TIMEOUT', `process ${pid} belongs to this job but has not joined it: a process joins once the job is asked for, between two turns of its event loop (Node.js) or two lines of Python, so it has been busy in one long synchronous call since, or is stuck; try again once it yields (longreach list shows it then)`);
}

/** Every process of the job but `root`: its descendants (/proc/PID/task/TID/children), and any other process
 * started with the job's variable (a process of the job whose parent exited). Linux; empty elsewhere. */
export function jobProcesses(root: number, socketPath: string): number[] {
  const found = new Set<number>();
  const todo = [root];
  while (todo.length > 0) {
    for (const child of childrenOf(todo.pop()!) ?? []) {
      if (found.has(child)) continue;
      found.add(child);
      todo.push(child);
    }
  }
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch {
    names = [];
  }
  for (const name of names) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid !== root && !found.has(pid) && startedInJob(pid, socketPath)) found.add(pid);
  }
  return [...found];
}

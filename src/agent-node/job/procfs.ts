// What /proc says about a job's processes (Linux; elsewhere these find nothing): which processes are the job's, joined
// or not (the root's descendants, and any process started with the job's LONGREACH_JOB: one whose parent exited), and,
// for `?pid=` of one that has not joined (gateway.select) and for a listing's rows of such processes, why, and whether
// it ever will. As python/longreach/job/wakeup.py and notjoined.py for the Python agent's gateway.

import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { LongreachError } from '../../protocol/errors.js';
import type { ProcessInfo } from '../../protocol/process-info.js';
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
  return basename(linkOf(pid, 'exe'));
}

export function commandLine(pid: number): string {
  return argvOf(pid).join(' ');
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

const NOT_YET = 'has not joined it: a process joins once the job is asked for, between two turns of its event loop (Node.js) or two lines of Python, so it has been busy in one long synchronous call since, or is stuck';

/**
 * `?pid=` of process `pid`, which has not joined the job: the error to answer, or null when it is not the job's.
 * A process that will never join (another program, a Python process, a Node.js process started without the job's
 * environment or hook) is LR_NO_SUCH_PROCESS saying why; one that has not joined *yet* (busy since the wake) is
 * LR_TIMEOUT. `pids` are the job's processes, for the message; `since`, when the gateway started (uptime()).
 */
export function notJoined(pid: number, root: number, socketPath: string, pids: number[], since: number | null): LongreachError | null {
  const found = notJoinedReason(pid, root, socketPath, since);
  if (found === null) return null;
  if (found.never) return new LongreachError('LR_NO_SUCH_PROCESS', `process ${pid} belongs to this job but ${found.why}; its processes: ${pids.join(', ')} (see longreach list)`);
  return new LongreachError('LR_TIMEOUT', `process ${pid} belongs to this job but ${found.why}; try again once it yields (longreach list shows when it has joined)`);
}

/** Why process `pid` of the job has not joined it (`never`: it never will by itself); null when it is not the job's. */
function notJoinedReason(pid: number, root: number, socketPath: string, since: number | null, env = environOf(pid)): { never: boolean; why: string } | null {
  const named = startedInJob(pid, socketPath, env);
  if (!named && !descends(pid, root)) return null;
  const program = programOf(pid);
  if (program === '') return null;
  const never = (why: string) => ({ never: true, why });
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
  return { never: false, why: NOT_YET };
}

/**
 * A listing's rows for the processes of the job that have not joined it (`joined`: the pids that have), each saying
 * why in `notJoined` (docs/protocol.md 5.3), labelled by the rank its environment gives it, if any; `own`: the root's
 * process info, for the machine's fields. multiprocessing's helpers (a Python child's; never user code) are left out.
 */
export function notJoinedRows(root: number, socketPath: string, since: number | null, joined: Set<number>, own: ProcessInfo): ProcessInfo[] {
  const rows: ProcessInfo[] = [];
  for (const pid of jobProcesses(root, socketPath)) {
    if (joined.has(pid)) continue;
    const env = environOf(pid);
    const found = notJoinedReason(pid, root, socketPath, since, env);
    if (found === null) continue;
    const argv = argvOf(pid);
    if (/multiprocessing\.(resource_tracker|semaphore_tracker|forkserver)/.test(argv.join(' '))) continue;
    const ppid = Number(statFields(pid)?.[1]);
    rows.push({
      pid, ppid: Number.isInteger(ppid) ? ppid : null, label: rankLabel(env), executable: linkOf(pid, 'exe'), argv, cwd: linkOf(pid, 'cwd'),
      runtime: '', runtimeVersion: '', runtimeDisplay: '', os: own.os, arch: own.arch, hostname: own.hostname, user: own.user,
      agent: '', agentVersion: '', protocol: own.protocol, attached: null, waiting: null, notJoined: found.why,
    });
  }
  return rows;
}

/** `rank R/W` (RANK, WORLD_SIZE; ` (local rank L)` when LOCAL_RANK differs) or `local rank L`, as a distributed
 * launcher sets them (as python/longreach/job/config.py rank_label); '' without them. */
function rankLabel(env: Map<string, string> | null): string {
  const digits = (value: string | undefined): value is string => value !== undefined && /^\d+$/.test(value);
  const rank = env?.get('RANK');
  const world = env?.get('WORLD_SIZE');
  const local = env?.get('LOCAL_RANK');
  if (digits(rank)) return `rank ${rank}${digits(world) ? `/${world}` : ''}${digits(local) && local !== rank ? ` (local rank ${local})` : ''}`;
  return digits(local) ? `local rank ${local}` : '';
}

function argvOf(pid: number): string[] {
  try {
    const words = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return words.at(-1) === '' ? words.slice(0, -1) : words;
  } catch {
    return [];
  }
}

function linkOf(pid: number, name: string): string {
  try {
    return readlinkSync(`/proc/${pid}/${name}`);
  } catch {
    return '';
  }
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

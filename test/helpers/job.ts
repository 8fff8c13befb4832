// Helpers for job tests (docs/protocol.md 5.3): the Python interpreters to run them on, a job started under the
// launcher in its own process group (so a failed test leaves no child behind), and listing its processes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { processItems } from '../../src/bridge/editor.js';
import { listProcesses } from '../../src/client/list.js';
import { trackChild, type Tracked } from './child.js';
import { runCli } from './cli.js';
import { ROOT } from './paths.js';
import { freePort, waitForPort } from './ports.js';

export const JOB_SECRET_ENV = { LR_JOB_SECRET: 'job-secret' };

/** CPython 3.8-3.13 from pyenv and pypy3 from PATH (LONGREACH_JOB_PYTHONS=path,path overrides). */
export function jobInterpreters(): { label: string; exe: string }[] {
  if (process.env.LONGREACH_JOB_PYTHONS) return process.env.LONGREACH_JOB_PYTHONS.split(',').map((exe) => ({ label: exe, exe }));
  const root = process.env.PYENV_ROOT || join(process.env.HOME ?? '/root', '.pyenv');
  const out: { label: string; exe: string }[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(join(root, 'versions'));
  } catch {
    names = [];
  }
  for (let minor = 8; minor <= 13; minor++) {
    const best = names.filter((n) => new RegExp(`^3\\.${minor}\\.\\d+$`).test(n)).sort((a, b) => Number(b.split('.')[2]) - Number(a.split('.')[2]))[0];
    if (best) out.push({ label: `CPython ${best}`, exe: join(root, 'versions', best, 'bin', 'python3') });
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'pypy3'))) {
      out.push({ label: 'PyPy 3', exe: join(dir, 'pypy3') });
      break;
    }
  }
  if (out.length === 0) out.push({ label: 'python3', exe: 'python3' });
  return out;
}

export interface Job extends Tracked {
  port: number;
  stopFile: string;
  stop(): void;
}

/**
 * `argv` in its own process group, with JOB_STOP_FILE naming a file that ends the job's children once it exists;
 * after the test the file is made and everything in the group killed.
 */
export function spawnJobGroup(t: TestContext, argv: string[], env: NodeJS.ProcessEnv, prefix = 'lr-job-'): Tracked & { stopFile: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const stopFile = join(dir, 'stop');
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, JOB_STOP_FILE: stopFile, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const tracked = trackChild(t, child);
  t.after(() => {
    writeFileSync(stopFile, '');
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { ...tracked, stopFile };
}

/** `python -m longreach --listen ... script args` in its own process group; everything in it is killed after the test. */
export async function startJob(t: TestContext, python: string, script: string, args: string[] = [], { launcher = [] as string[], env = {} as NodeJS.ProcessEnv } = {}): Promise<Job> {
  const port = await freePort();
  const job = spawnJobGroup(t, [python, '-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_JOB_SECRET', ...launcher, script, ...args], {
    ...JOB_SECRET_ENV, PYTHONPATH: join(ROOT, 'python'), PYTHONDONTWRITEBYTECODE: '1', ...env,
  });
  await waitForPort(port, job.child, 30_000);
  return { ...job, port, stop: () => writeFileSync(job.stopFile, '') };
}

/**
 * The job's exit code once its stop file is made; after `ms` an error with what the job wrote (a process of the
 * job that never ends, e.g. left stopped, then shows up as that instead of as the test's own timeout).
 */
export async function jobEnd(job: Job, ms = 25_000): Promise<number | string> {
  job.stop();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the job did not end within ${ms} ms of its stop file\nstdout:\n${job.stdout()}\nstderr:\n${job.stderr()}`)), ms);
  });
  try {
    return await Promise.race([job.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

export interface JobRow {
  target: string;
  pid: number;
  ppid: number | null;
  label: string;
  notJoined?: string;
  info: { argv: string[]; attached: unknown; notJoined?: string };
}

/** `longreach list --json` rows of the job's processes that joined it (rows that failed are dropped, and with
 * `notJoined`, those of processes that have not joined, unless `all`). */
export async function listJob(port: number, extra = '', all = false): Promise<JobRow[]> {
  const r = await runCli(['list', `tcp://127.0.0.1:${port}${extra}`, '--secret-env', 'LR_JOB_SECRET', '--json'], { env: JOB_SECRET_ENV });
  const rows = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JobRow & { ok: boolean });
  return rows.filter((row) => row.ok && (all || row.notJoined === undefined));
}

/** Lists until `ready(rows)` (bounded). */
export async function waitForRows(port: number, ready: (rows: JobRow[]) => boolean, timeoutMs = 60_000): Promise<JobRow[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: JobRow[] = [];
  while (Date.now() < deadline) {
    rows = await listJob(port);
    if (ready(rows)) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the job's listing never became ready; last rows:\n${JSON.stringify(rows, null, 1)}`);
}

/** Runs `longreach attach TARGET --batch -` with `script` on stdin. */
export function attachBatch(target: string, script: string, args: string[] = []) {
  return runCli(['attach', target, '--secret-env', 'LR_JOB_SECRET', '--batch', '-', '--timeout', '30', ...args], { input: script, env: JOB_SECRET_ENV });
}

/** The pids a job printed as lines `NAME PID` (or `NAME PID PID`), once all of `names` are there (20 s at most). */
export async function printedPids(output: () => string, names: string[]): Promise<Record<string, number[]>> {
  const line = (name: string) => new RegExp(`^${name}((?: \\d+)+)$`, 'm').exec(output());
  const deadline = Date.now() + 20_000;
  while (!names.every((n) => line(n)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return Object.fromEntries(names.map((n) => [n, line(n)![1]!.trim().split(' ').map(Number)]));
}

/**
 * `?pid=PID` through the job's `port` is refused with LR_NO_SUCH_PROCESS: "process PID belongs to this job but <why>";
 * the job's listing shows the process, with no target to attach to and the same reason (`--json`, and the table).
 */
export async function assertNeverJoins(port: number, pid: number, why: RegExp): Promise<void> {
  const r = await attachBatch(`tcp://127.0.0.1:${port}?pid=${pid}`, 'p 1\n');
  assert.notEqual(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, new RegExp(`LR_NO_SUCH_PROCESS\\]?:? process ${pid} belongs to this job but ${why.source}`), r.stdout + r.stderr);
  const row = (await listJob(port, '', true)).find((each) => each.pid === pid);
  assert.ok(row, `process ${pid} is not in the job's listing`);
  assert.match(row.notJoined ?? '', new RegExp(`^${why.source}`));
  assert.equal(row.info.notJoined, row.notJoined);
  const table = await runCli(['list', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_JOB_SECRET'], { env: JOB_SECRET_ENV });
  assert.match(table.stdout, new RegExp(`^ +${pid} +\\d+ +.+ +- +- +not joined \\(see below\\)$`, 'm'), table.stdout);
  assert.match(table.stdout, new RegExp(`^process ${pid} belongs to this job but ${why.source}`, 'm'), table.stdout);
  // the editors' "Available Processes": shown, saying why, and it cannot be picked
  const qualifier = `tcp://127.0.0.1:${port}`;
  const item = processItems(qualifier, await listProcesses(qualifier, { secret: JOB_SECRET_ENV.LR_JOB_SECRET, timeoutMs: 10_000 })).find((each) => each.label.includes(` ${pid}  `));
  assert.ok(item, `process ${pid} is not in the editors' list`);
  assert.equal(item.config, null);
  assert.equal(item.description, 'not joined: cannot be attached');
  assert.match(item.detail, new RegExp(`^belongs to this job but ${why.source}`));
}

/**
 * A program (`argv`, port as its last argument) that starts a child (a rank: RANK=1, WORLD_SIZE=2) and a `sleep`, then
 * its agent, and prints `early CHILD SLEEP`: `?pid=` of the sleep says what it runs, of the child that it started
 * before the agent did (the API's name as `api` says it) and to inject into it; the listing labels the child by its
 * rank. Ends it through its stop file.
 */
export async function checkStartedBeforeAgent(t: TestContext, argv: string[], env: NodeJS.ProcessEnv, api: string): Promise<void> {
  const port = await freePort();
  const job = spawnJobGroup(t, [...argv, String(port)], { ...JOB_SECRET_ENV, ...env });
  await waitForPort(port, job.child, 30_000);
  const [pid, other] = (await printedPids(job.stdout, ['early'])).early as [number, number];
  // another program says what it runs first: no agent could be loaded into it
  await assertNeverJoins(port, other, /runs sleep, which does not join it/);
  const escaped = api.replace(/[()]/g, '\\$&');
  await assertNeverJoins(port, pid, new RegExp(`started before the agent did in the job's root \\(${escaped} called late, or longreach inject\\), so it is not in the job: load the agent into it as well \\(longreach inject ${pid}\\)`));
  // listed with the rank its environment gives it (which rank to inject into), the sleep with none
  const labels = Object.fromEntries((await listJob(port, '', true)).map((row) => [row.pid, row.label]));
  assert.deepEqual([labels[pid], labels[other]], ['rank 1/2', '']);
  writeFileSync(job.stopFile, '');
  assert.equal(await job.exited, 0, job.stderr());
}

/** Runs `items` through `fn`, `limit` at a time. */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += limit) out.push(...(await Promise.all(items.slice(i, i + limit).map(fn))));
  return out;
}

/** The processes still running in process group `pgid` (a job started by spawnJobGroup is its own group). */
export function groupProcesses(pgid: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ').pop()!.split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Resolves once no process of group `pgid` runs (bounded: then the error lists what still runs). */
export async function groupEnded(pgid: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = groupProcesses(pgid);
  while (left.length > 0) {
    if (Date.now() > deadline) {
      const described = left.map((pid) => { try { return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')}`; } catch { return String(pid); } });
      throw new Error(`the job's processes still run ${timeoutMs / 1000} s after the kill:\n${described.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = groupProcesses(pgid);
  }
}

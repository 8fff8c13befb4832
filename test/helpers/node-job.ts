// Helpers for Node.js job tests (docs/protocol.md 5.3): test/fixtures/node/job/job.mjs started under
// `node --import longreach/register` in its own process group (so a failed test leaves no child behind), the same
// job run plainly, and what /proc says about a process. Listing and attaching use test/helpers/job.ts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { hookFlag, requireEsmSilently } from '../../src/agent-node/job/config.js';
import { JOB_SECRET_ENV, spawnJobGroup, type Job } from './job.js';
import { ROOT } from './paths.js';
import { freePort, waitForPort } from './ports.js';

export const NODE_JOB = 'test/fixtures/node/job/job.mjs';
export const NODE_WORK = 'test/fixtures/node/job/work.mjs';
const REGISTER = join(ROOT, 'dist/src/agent-node/register.js');
/** The CommonJS hook a job's children load (`--require` in NODE_OPTIONS) where require(esm) exists. */
export const HOOK = join(ROOT, 'dist/src/agent-node/job/hook.cjs');

/**
 * A child's NODE_OPTIONS: it ends with the hook's flag (`--require` of the built hook.cjs, which exists, where this
 * Node.js has a silent require(esm); else `--import` of register.js) and holds none of `secrets`.
 */
export function assertHookOptions(nodeOptions: string, secrets: string[]): void {
  for (const secret of secrets) assert.ok(!nodeOptions.includes(secret), `a secret is in NODE_OPTIONS: ${nodeOptions}`);
  if (requireEsmSilently(process.features.require_module, process.versions.node)) {
    assert.ok(existsSync(HOOK), `${HOOK} is built`);
    assert.ok(nodeOptions.endsWith(hookFlag(true, HOOK, '')), `NODE_OPTIONS names ${HOOK}: ${nodeOptions}`);
  } else {
    assert.ok(nodeOptions.endsWith(`--import=${pathToFileURL(REGISTER).href}`), `NODE_OPTIONS imports register.js: ${nodeOptions}`);
  }
}

/** The line of work.mjs marked `// @tick`. */
export function tickLine(): number {
  return readFileSync(join(ROOT, NODE_WORK), 'utf8').split('\n').findIndex((l) => l.includes('// @tick')) + 1;
}

/** `node --import register job.mjs KINDS` listening on a free port, the secret in LONGREACH_SECRET. */
export async function startNodeJob(t: TestContext, kinds: string, env: NodeJS.ProcessEnv = {}): Promise<Job> {
  const port = await freePort();
  const job = spawnJobGroup(t, [process.execPath, '--import', REGISTER, NODE_JOB, kinds], {
    LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: JOB_SECRET_ENV.LR_JOB_SECRET, ...env,
  }, 'lr-node-job-');
  await waitForPort(port, job.child, 30_000);
  return { ...job, port, stop: () => writeFileSync(job.stopFile, '') };
}

/** The job run plainly (no agent), with its stop file already there: every child ticks once and ends. */
export function plainNodeRun(kinds: string): { code: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'lr-node-job-plain-'));
  try {
    writeFileSync(join(dir, 'stop'), '');
    const r = spawnSync(process.execPath, [NODE_JOB, kinds], { cwd: ROOT, env: { ...process.env, JOB_STOP_FILE: join(dir, 'stop') }, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A process's command line and environment as /proc shows them to anyone on the host. */
export function procOf(pid: number): { cmdline: string; environ: Map<string, string> } {
  const split = (file: string) => readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter(Boolean);
  const environ = new Map(split('environ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]));
  return { cmdline: split('cmdline').join(' '), environ };
}

/** The pids whose parent is `ppid` (from /proc/PID/stat). */
export function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The sockets `pid` listens on (TCP over IPv4/IPv6, and Unix sockets), from /proc: a child of a job has none. */
export function listeningSockets(pid: number): { tcp: number; unix: number } {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const rows = (file: string) => readFileSync(file, 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  const tcp = [...rows('/proc/net/tcp'), ...rows('/proc/net/tcp6')].filter((r) => r[3] === '0A' && inodes.has(r[9]!)).length;
  // /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 is a listening socket
  const unix = rows('/proc/net/unix').filter((r) => r[3] === '00010000' && inodes.has(r[6]!)).length;
  return { tcp, unix };
}

// The job's wiring on the program's main thread (docs/protocol.md 5.3), used by api.ts: the root's private
// directory and token before its worker starts, the variables its children inherit once the gateway listens,
// and what a joining child tells its worker. The gateway and the members themselves run in the agent's worker.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JOB_ENV, attachedFlag, encodeJob, encodeOff, holdSeconds, hookFlag, processLabel, requireEsmSilently, wakeSeconds, withHook, type JobConfig } from './config.js';

/** What the agent's worker needs to be a job's root or a member (part of its WorkerConfig). */
export type JobBoot = { role: 'root'; folder: string; token: string } | MemberBoot;
/** `image` is set when the worker wakes a dormant member (job/dormant.cts): its hello names the image to take over. */
export type MemberBoot = { role: 'member'; socket: string; token: string; label: string; image?: string };

/**
 * What children load first, put in the NODE_OPTIONS they inherit: `--require` of hook.cjs (CommonJS: no ES module
 * loader to start in a short-lived child) where require() can load the agent's ES modules, else `--import` of
 * register.js (config.ts hookFlag).
 */
const HOOK_FLAG = hookFlag(
  requireEsmSilently(process.features.require_module, process.versions.node),
  fileURLToPath(new URL('./hook.cjs', import.meta.url)),
  new URL('../register.js', import.meta.url).href,
);

/** A private directory (mkdtemp makes it 0700) and a random token for a new job's gateway. */
export function prepareRoot(): { role: 'root'; folder: string; token: string } {
  return { role: 'root', folder: mkdtempSync(join(tmpdir(), 'longreach-job-')), token: randomBytes(32).toString('hex') };
}

export function removeRoot(boot: { folder: string }): void {
  rmSync(boot.folder, { recursive: true, force: true });
}

/**
 * The gateway listens: put LONGREACH_JOB and the hook's flag into this process's environment, which every child
 * inherits, and remove the private directory when the process exits (children still registered then see their
 * link end; later ones find no gateway and run undebugged).
 */
export function publishRoot(boot: { folder: string; token: string }, redirect: boolean): void {
  const config = { socket: join(boot.folder, 'gw'), token: boot.token, root: process.pid, redirect, hold: holdSeconds(process.env), dormant: wakeSeconds(process.env) };
  process.env[JOB_ENV] = encodeJob(config);
  process.env.NODE_OPTIONS = withHook(process.env.NODE_OPTIONS, HOOK_FLAG);
  process.on('exit', () => {
    try {
      removeRoot(boot);
    } catch {
      // nothing to tell
    }
  });
}

/** Following is off: children that load the hook anyway (an inherited NODE_OPTIONS) leave themselves alone. */
export function publishOff(): void {
  process.env[JOB_ENV] = encodeOff(process.pid);
}

/** What a child joining `config` tells its worker, and how long it waits for a job session's breakpoints (0: none attached). */
export function memberBoot(config: JobConfig): { boot: MemberBoot; holdMs: number } {
  const holdMs = config.hold > 0 && existsSync(attachedFlag(config)) ? config.hold * 1000 : 0;
  return { boot: { role: 'member', socket: config.socket, token: config.token, label: processLabel() }, holdMs };
}

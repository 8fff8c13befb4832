// Helpers for reverse-connect tests: a real `longreach listen` hub, agents that dial it (Python, Node), and a look
// at a process's sockets in /proc to prove that an agent in connect mode listens on nothing.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { trackChild, type Tracked } from '../helpers/child.js';
import { BIN } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { spawnPython, PYTHON_FIXTURES } from '../helpers/python-agent.js';
import { ROOT } from '../helpers/paths.js';

export const HUB_SECRET = 'hub-s3cret';
export const HUB_LOOP = join(PYTHON_FIXTURES, 'hub_loop.py');
export const REGISTER = join(ROOT, 'dist/src/agent-node/register.js');

export interface RunningHub extends Tracked {
  port: number;
  /** Resolves once the hub printed a line matching `pattern` (bounded). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `longreach listen 127.0.0.1:PORT --secret-env LR_HUB_SECRET [--certfile F --keyfile F]`, listening when it resolves. */
export async function startHubProcess(t: TestContext, { secret = HUB_SECRET, port, tls }: { secret?: string; port?: number; tls?: { cert: string; key: string } } = {}): Promise<RunningHub> {
  const chosen = port ?? (await freePort());
  const args = [BIN, 'listen', `127.0.0.1:${chosen}`, '--secret-env', 'LR_HUB_SECRET', ...(tls ? ['--certfile', tls.cert, '--keyfile', tls.key] : [])];
  const child = spawn(process.execPath, args, { env: { ...process.env, LR_HUB_SECRET: secret }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked = trackChild(t, child);
  const waitFor = (pattern: RegExp, timeoutMs = 15_000): Promise<string> =>
    until(`hub output ${pattern}`, () => {
      if (child.exitCode !== null) throw new Error(`the hub exited (${child.exitCode}): ${tracked.stderr()}`);
      return tracked.stdout().split('\n').find((l) => pattern.test(l));
    }, timeoutMs);
  await waitFor(/hub listening on/);
  return {
    ...tracked,
    port: chosen,
    waitFor,
    stop: async () => {
      child.kill('SIGTERM');
      await tracked.exited;
    },
  };
}

/** `python -m longreach --connect 127.0.0.1:PORT --secret-env LR_TEST_SECRET [extra] script args`. */
export function startPythonDialer(t: TestContext, hubPort: number, { secret = HUB_SECRET, extra = [] as string[], script = [HUB_LOOP], env = {} as NodeJS.ProcessEnv } = {}): Tracked {
  return spawnPython(t, ['-m', 'longreach', '--connect', `127.0.0.1:${hubPort}`, '--secret-env', 'LR_TEST_SECRET', ...extra, ...script], { env: { LR_TEST_SECRET: secret, ...env } });
}

/** `node --import longreach/register app.js` with LONGREACH_CONNECT. */
export function startNodeDialer(t: TestContext, hubPort: number, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Tracked {
  const child: ChildProcess = spawn(process.execPath, ['--import', REGISTER, script, ...args], {
    env: { ...process.env, LONGREACH_CONNECT: `127.0.0.1:${hubPort}`, LONGREACH_SECRET: HUB_SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return trackChild(t, child);
}

interface SocketRow {
  local: number;
  remote: number;
  state: string;
}

/** The inodes of the sockets a process holds, from its fds in /proc. */
export function socketInodesOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // the fd closed meanwhile
    }
  }
  return inodes;
}

/** The TCP sockets (IPv4 and IPv6) a process holds, from /proc: its fds' socket inodes looked up in /proc/net/tcp*. */
export function tcpSocketsOf(pid: number): SocketRow[] {
  const inodes = socketInodesOf(pid);
  const rows: SocketRow[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || !inodes.has(cols[9]!)) continue;
      rows.push({ local: parseInt(cols[1]!.split(':')[1]!, 16), remote: parseInt(cols[2]!.split(':')[1]!, 16), state: cols[3]! });
    }
  }
  return rows;
}

/** Listening sockets (state 0A) of a process. */
export function listeningPorts(pid: number): number[] {
  return tcpSocketsOf(pid).filter((r) => r.state === '0A').map((r) => r.local);
}

export function assertNoListeningSocket(pid: number, hubPort: number): void {
  assert.deepEqual(listeningPorts(pid), [], `process ${pid} listens on nothing`);
  assert.ok(tcpSocketsOf(pid).some((r) => r.state === '01' && r.remote === hubPort), `process ${pid} holds an established connection to the hub's port ${hubPort}`);
}

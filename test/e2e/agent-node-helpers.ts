// Helpers for the Node agent's end-to-end tests: run a fixture under `node --import longreach/register` (or
// plainly), connect with the client library, and wait for things with bounded waits.

import { spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { connectTo, SECRET, type Program } from '../conformance/harness.js';
import { freePort } from '../conformance/agents.js';
import type { ClientSession } from '../../src/client/index.js';
import { trackChild } from '../helpers/child.js';

export const REGISTER = join(ROOT, 'dist/src/agent-node/register.js');
export const FIXTURES = join(ROOT, 'test/fixtures/node');
export const BUILT_FIXTURES = join(ROOT, 'dist/test/fixtures/node');

export { SECRET };

function track(t: TestContext, child: ChildProcess, port: number): Program {
  return { ...trackChild(t, child), port };
}

/** `node --import longreach/register script args...` with the launcher's environment (waits for a debugger). */
export async function launch(t: TestContext, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Program> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', REGISTER, script, ...args], {
    env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET, LONGREACH_WAIT: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(t, child, port);
}

/** `node script args...` (the script calls the API itself). */
export function run(t: TestContext, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Program {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(t, child, 0);
}

/** Connects and attaches; resolves once `initialized` arrived. */
export async function attachTo(t: TestContext, program: Program, secret = SECRET): Promise<ClientSession> {
  const s = await connectTo(program, { secret });
  t.after(() => s.close());
  const initialized = s.waitForEvent('initialized', { timeoutMs: 15_000 });
  await s.request('attach', {});
  await initialized;
  return s;
}

export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

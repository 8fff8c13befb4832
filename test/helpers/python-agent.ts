// Starts real Python processes hosting the agent, for end-to-end tests.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { trackChild } from './child.js';
import { freePort, waitForPort } from './ports.js';

export { freePort, waitForPort };
import { ROOT } from './paths.js';

export const PYTHON = process.env.LONGREACH_PYTHON ?? 'python3';
export const PYTHON_FIXTURES = join(ROOT, 'test/fixtures/python');

export interface PythonProcess {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** Spawns `python args...` with the agent importable; killed after the test if still running. */
export function spawnPython(t: TestContext, args: string[], { env = {}, cwd = PYTHON_FIXTURES }: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Omit<PythonProcess, 'port'> {
  const child = spawn(PYTHON, args, {
    cwd,
    env: { ...process.env, PYTHONPATH: join(ROOT, 'python'), PYTHONUNBUFFERED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return trackChild(t, child);
}

/** `python -m longreach --listen 127.0.0.1:PORT --secret-env LR_TEST_SECRET [extra] script [args]`, listening when it resolves. */
export async function launchAgent(t: TestContext, script: string[], { secret = 's3cret', extra = ['--wait'], env = {} }: { secret?: string; extra?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<PythonProcess> {
  const port = await freePort();
  const proc = spawnPython(t, ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_TEST_SECRET', ...extra, ...script], { env: { LR_TEST_SECRET: secret, ...env } });
  await waitForPort(port, proc.child);
  return { ...proc, port };
}

// Helpers for the `longreach inject` tests: the pyenv CPython of a minor version, a target started without any
// debugger (running once it printed "ready"), the port an injector printed, and whether a port refuses connections.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { trackChild, type Tracked } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';

export const BUSY = 'test/fixtures/inject/busy.py';
export const APP = 'test/fixtures/inject/app.js';
export const ENV = { LR_INJECT_SECRET: 'inject-secret' };

export function cpython(minor: number): string {
  const root = process.env.PYENV_ROOT ?? join(homedir(), '.pyenv');
  const dirs = existsSync(join(root, 'versions')) ? readdirSync(join(root, 'versions')).filter((d) => d.startsWith(`3.${minor}.`)).sort() : [];
  const found = dirs.map((d) => join(root, 'versions', d, 'bin', 'python3')).filter((p) => existsSync(p)).pop();
  assert.ok(found, `CPython 3.${minor} is not installed under ${root}/versions (scripts/setup-debian.sh installs the interpreters)`);
  return found;
}

export async function startTarget(t: TestContext, argv: string[]): Promise<Tracked> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONPATH: '' } });
  const tracked = trackChild(t, child);
  const deadline = Date.now() + 20_000;
  while (!tracked.stdout().includes('ready')) {
    if (child.exitCode !== null || Date.now() > deadline) assert.fail(`the target did not start: ${tracked.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return tracked;
}

export function boundPort(stdout: string): number {
  const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
  assert.ok(m, stdout);
  return Number(m[1]);
}

export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

// Helpers for CLI end-to-end tests: run the built `longreach` as a child process, start a real Python program
// under our agent (or debugpy), and stabilise volatile text (ports, ids, addresses, paths) for golden files.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { trackChild } from './child.js';
import { ROOT } from './paths.js';
import { freePort, waitForPort } from './ports.js';

export { freePort, waitForPort };

export const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
export const PYTHON = process.env.LONGREACH_PYTHON || 'python3';
/** Debian's debugpy lives in the system interpreter's dist-packages. */
export const DEBUGPY_PYTHON = process.env.LONGREACH_DEBUGPY_PYTHON || '/usr/bin/python3';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], { input, env = {}, timeoutMs = 60_000, cwd = ROOT }: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`longreach ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // let the pipes drain
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
    child.stdin.end(input ?? '');
  });
}

export interface Debuggee {
  port: number;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | string>;
}

function watch(t: TestContext, child: ChildProcess, port: number): Debuggee {
  return { ...trackChild(t, child), port };
}

/** A Python program under our agent, held with --wait until a debugger attaches. */
export async function startAgent(t: TestContext, script: string, { secret = 'cli-secret', wait = true, args = [] as string[] } = {}): Promise<Debuggee> {
  const port = await freePort();
  const child = spawn(PYTHON, ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_TEST_SECRET', ...(wait ? ['--wait'] : []), script, ...args], {
    cwd: ROOT,
    env: { ...process.env, LR_TEST_SECRET: secret, PYTHONPATH: join(ROOT, 'python') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const d = watch(t, child, port);
  await waitForPort(port, child);
  return d;
}

/** A Python program under Debian's debugpy, waiting for a client. */
export async function startDebugpy(t: TestContext, script: string): Promise<Debuggee> {
  const port = await freePort();
  const child = spawn(DEBUGPY_PYTHON, ['-Xfrozen_modules=off', '-m', 'debugpy', '--listen', `127.0.0.1:${port}`, '--wait-for-client', script], {
    cwd: ROOT,
    env: { ...process.env, PYDEVD_DISABLE_FILE_VALIDATION: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const d = watch(t, child, port);
  await waitForListen(port, child);
  return d;
}

/**
 * Waits until the port is in LISTEN state without connecting: debugpy's adapter takes the first connection as its
 * one client, so a probe would use it up. Reads /proc/net/tcp (Linux).
 */
export async function waitForListen(port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = readFileSync('/proc/net/tcp', 'utf8');
    if (table.split('\n').some((line) => { const cols = line.trim().split(/\s+/); return cols[1]?.endsWith(hex) === true && cols[3] === '0A'; })) return;
    if (child.exitCode !== null) throw new Error(`the debuggee exited (${child.exitCode}) before listening`);
    if (Date.now() > deadline) throw new Error(`nothing listened on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Replaces what changes from run to run: ports, ids, object addresses, the checkout's path, times. */
export function stabilise(text: string, { port }: { port?: number } = {}): string {
  let out = text.split(ROOT.replace(/\/$/, '')).join('<ROOT>');
  if (port !== undefined) out = out.split(String(port)).join('<PORT>');
  return out
    .replace(/0x[0-9a-f]{6,16}/g, '0xADDR')
    .replace(/in thread (\S+) \(\d+\)/g, 'in thread $1 (<TID>)')
    // how many frames the agent's own launcher adds below the program is the agent's business
    .replace(/\(\d+ more frames\)/g, '(<N> more frames)')
    .replace(/"kind":"frames"(.*?)"total":\d+/g, '"kind":"frames"$1"total":"<N>"')
    .replace(/"thread":\{"id":\d+/g, '"thread":{"id":"<TID>"')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<TIME>');
}

/** Compares with test/e2e/golden/NAME; UPDATE_GOLDEN=1 rewrites the file instead. */
export function assertGolden(name: string, actual: string): void {
  const path = join(ROOT, 'test', 'e2e', 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) {
    if (process.env.UPDATE_GOLDEN !== '1' && process.env.CI) assert.fail(`golden file ${name} is missing`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    if (process.env.UPDATE_GOLDEN !== '1') assert.fail(`golden file ${name} did not exist; wrote it — check it and re-run`);
    return;
  }
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from golden ${name} (UPDATE_GOLDEN=1 rewrites it)`);
}

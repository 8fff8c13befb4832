// Helpers for the install tests (pip, pyz, npm tarball): find interpreters, run commands from a temp folder outside
// the repository, and attach once to a program started by an installed agent with an installed (or built) CLI.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { trackChild } from './child.js';
import { ROOT } from './paths.js';
import { freePort, waitForPort } from './ports.js';

export const FIXTURE = join(ROOT, 'test', 'fixtures', 'install', 'total.py');
/** The line of `result = sum(items)` in the fixture. */
export const BREAK_LINE = 5;
/** The fixture's exit status after a normal run. */
export const EXIT_STATUS = 3;

/** The newest pyenv CPython 3.MINOR (the README's setup), or a clear failure naming what to install. */
export function cpython(minor: number): string {
  const versions = join(process.env.PYENV_ROOT || join(homedir(), '.pyenv'), 'versions');
  const names = existsSync(versions) ? readdirSync(versions) : [];
  const found = names
    .map((name) => ({ name, m: /^3\.(\d+)\.(\d+)$/.exec(name) }))
    .filter(({ m }) => m !== null && Number(m[1]) === minor)
    .sort((a, b) => Number(b.m?.[2]) - Number(a.m?.[2]))
    .map(({ name }) => join(versions, name, 'bin', 'python3'))
    .find((exe) => existsSync(exe));
  assert.ok(found, `CPython 3.${minor} is missing: no ${versions}/3.${minor}.*/bin/python3 (pyenv install 3.${minor})`);
  return found;
}

export function tempFolder(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A copy of the fixture in `dir`, so nothing of the checkout is on the program's path. */
export function copyFixture(dir: string): string {
  const script = join(dir, 'total.py');
  copyFileSync(FIXTURE, script);
  return script;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after timeoutMs), in `cwd` (a temp folder, never the checkout). */
export function run(cmd: string, args: string[], { cwd, env = process.env, input = '', timeoutMs = 60_000 }: { cwd: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** Runs a command and fails the test, with its output, unless it exits 0. */
export async function ok(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  const r = await run(cmd, args, options);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

const SECRET_VAR = 'LR_INSTALL_SECRET';

export interface AttachOnce {
  /** The CLI's batch transcript with the port replaced by <PORT>. */
  transcript: string;
  /** The program's exit status. */
  status: number | string;
  programStdout: string;
  programStderr: string;
}

/**
 * Starts `python ...launch --listen 127.0.0.1:PORT --secret-env VAR --wait SCRIPT` (launch: ['-m', 'longreach'] or
 * [PYZ]), attaches with the CLI `cli` (a command line: [node, bin.js] or [installed bin]), stops at the fixture's
 * breakpoint, shows the stack and a variable, detaches, and waits for the program's exit.
 */
export async function attachOnce(
  t: TestContext,
  { python, launch, script, cwd, env = {}, cli }: { python: string; launch: string[]; script: string; cwd: string; env?: NodeJS.ProcessEnv; cli: string[] },
): Promise<AttachOnce> {
  const port = await freePort();
  const secret = 'install-secret';
  const child = spawn(python, [...launch, '--listen', `127.0.0.1:${port}`, '--secret-env', SECRET_VAR, '--wait', script], {
    cwd,
    env: { ...process.env, ...env, [SECRET_VAR]: secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const program = trackChild(t, child);
  await waitForPort(port, child);
  const [cmd, ...pre] = cli as [string, ...string[]];
  const r = await run(cmd, [...pre, 'attach', `tcp://127.0.0.1:${port}`, '--secret-env', SECRET_VAR, '--break', `${script}:${BREAK_LINE}`, '--batch', '-', '--timeout', '20'], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', [SECRET_VAR]: secret },
    input: 'bt\np items\ndetach\n',
  });
  assert.equal(r.code, 0, `attach failed\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}\nprogram stderr:\n${program.stderr()}`);
  const status = await program.exited;
  // The program's own output after the detach may or may not reach the CLI before it exits (the program runs on):
  // the transcript ends at the detach.
  const transcript = r.stdout.split(String(port)).join('<PORT>').replace(/(Detached; the program keeps running\.\n)[\s\S]*$/, '$1');
  return { transcript, status, programStdout: program.stdout(), programStderr: program.stderr() };
}

/**
 * Checks what every attachOnce must show: the stop at the breakpoint, the stack (exactStack: the program's two frames
 * and nothing below them), the value, the detach, the exit status.
 */
export function assertAttached(result: AttachOnce, { exactStack = true } = {}): void {
  assert.match(result.transcript, new RegExp(`Stopped at (a )?breakpoint.*\\n> (\\S*/)?total\\.py:${BREAK_LINE} in total\\(\\)`), result.transcript);
  const stack = /\* #0 +total\(\) at \S*total\.py:5\n {2}#1 +<module>\(\) at \S*total\.py:8\n/;
  assert.match(result.transcript, exactStack ? new RegExp(`${stack.source}\\(longreach\\)`) : stack, result.transcript);
  assert.match(result.transcript, /\[1, 2, 3\]/);
  assert.match(result.transcript, /Detached; the program keeps running\./);
  assert.equal(result.status, EXIT_STATUS, `the program's exit status is kept\n${result.programStderr}`);
  assert.equal(result.programStdout, 'total 6\n');
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

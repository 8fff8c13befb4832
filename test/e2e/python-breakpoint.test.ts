// breakpoint() in Python programs, through the built CLI: with the agent attached it stops at the caller's line; with
// nobody attached the program waits, `longreach list` shows it waiting there, `attach` gets the stop and detaching
// lets it carry on; PYTHONBREAKPOINT=longreach.breakpoint starts the agent lazily from LONGREACH_* settings (nothing
// listens before); LONGREACH_BREAKPOINT_WAIT elapses; PYTHONBREAKPOINT=0; each bad setting is one stderr line.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { trackChild, type Tracked } from '../helpers/child.js';
import { freePort, PYTHON, runCli, startAgent, waitForPort } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';
import { HUB_SECRET, listeningPorts, startHubProcess } from './hub-helpers.js';

const FIXTURE = 'test/fixtures/python/breakpoint_here.py';
const LINE = 10;
const SECRET = 'bp-secret';
const SECRET_ENV = { LR_CLI_SECRET: SECRET };
const STOP = `Stopped paused in thread MainThread (1)\n> ${FIXTURE}:${LINE} in main()\n-> breakpoint()`;

/** Every variable the hook reads, unset for the child unless the test sets it. */
const CLEAN: NodeJS.ProcessEnv = Object.fromEntries(['PYTHONBREAKPOINT', 'LONGREACH_LISTEN', 'LONGREACH_CONNECT', 'LONGREACH_SECRET_FILE', 'LONGREACH_SECRET', 'LONGREACH_NO_SECRET', 'LONGREACH_CERTFILE', 'LONGREACH_KEYFILE', 'LONGREACH_BREAKPOINT_WAIT', 'LONGREACH_CA', 'LONGREACH_FINGERPRINT'].map((k) => [k, '']));

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lr-bp-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The fixture run directly (no launcher), with `env`; TEST_PORT=port makes it report what listens there. */
function runFixture(t: TestContext, port: number, env: NodeJS.ProcessEnv): Tracked {
  const child = spawn(PYTHON, [FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, ...CLEAN, PYTHONPATH: join(ROOT, 'python'), PYTHONUNBUFFERED: '1', TEST_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return trackChild(t, child);
}

async function list(port: number): Promise<string> {
  const r = await runCli(['list', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_CLI_SECRET'], { env: SECRET_ENV });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.stdout;
}

/** Lists until the row says waiting (bounded). */
async function listedWaiting(port: number): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const out = await list(port);
    if (out.includes('waiting at')) return out;
    if (Date.now() > deadline) assert.fail(`never listed as waiting:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function batch(port: number, script: string) {
  return runCli(['attach', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_CLI_SECRET', '--batch', '-', '--timeout', '20'], { input: script, env: SECRET_ENV });
}

function assertWaitingRow(out: string): void {
  assert.match(out, new RegExp(`waiting at breakpoint_here\\.py:${LINE} since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`));
}

test('breakpoint() with a debugger attached stops at the caller\'s line, and stepping goes on in the caller', async (t) => {
  const agent = await startAgent(t, FIXTURE, { secret: SECRET });
  const r = await batch(agent.port, 'wait\nnext\np total\ncontinue\n');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.stdout.includes(STOP), r.stdout);
  assert.match(r.stdout, new RegExp(`Stopped after a step in thread MainThread \\(1\\)\\n> ${FIXTURE}:${LINE + 1} in main\\(\\)`));
  assert.match(r.stdout, /\(longreach\) p total\n40 {2}\(int\)/);
  assert.equal(await agent.exited, 0);
  assert.equal(agent.stdout(), 'after 42\n');
});

test('breakpoint() with nobody attached waits, is listed as waiting, attach gets the stop, detach continues', async (t) => {
  const agent = await startAgent(t, FIXTURE, { secret: SECRET, wait: false });
  assertWaitingRow(await listedWaiting(agent.port));
  const r = await batch(agent.port, 'bt 1\np total\ndetach\n');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.stdout.includes(STOP), r.stdout);
  assert.match(r.stdout, /\(longreach\) p total\n40 {2}\(int\)/);
  assert.equal(await agent.exited, 0);
  assert.equal(agent.stdout(), 'after 42\n');
  assert.equal(agent.stderr(), '');
});

test('PYTHONBREAKPOINT=longreach.breakpoint with LONGREACH_LISTEN starts the agent at the first breakpoint()', async (t) => {
  const dir = tempDir(t);
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, `${SECRET}\n`);
  const port = await freePort();
  const p = runFixture(t, port, { PYTHONBREAKPOINT: 'longreach.breakpoint', LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET_FILE: secretFile });
  await waitForPort(port, p.child);
  assert.equal(p.stdout(), 'before: False nothing\n', 'nothing loaded or listening before breakpoint()');
  assertWaitingRow(await listedWaiting(port));
  const r = await batch(port, 'bt 1\ndetach\n');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.stdout.includes(STOP), r.stdout);
  assert.equal(await p.exited, 0);
  assert.equal(p.stdout(), 'before: False nothing\nafter 42\nafterwards: listening\n');
  assert.equal(p.stderr(), '');
});

test('PYTHONBREAKPOINT=longreach.breakpoint with LONGREACH_CONNECT dials a hub at the first breakpoint(): listed there as waiting, attached through it', async (t) => {
  const hub = await startHubProcess(t);
  const unused = await freePort();
  const p = runFixture(t, unused, { PYTHONBREAKPOINT: 'longreach.breakpoint', LONGREACH_CONNECT: `127.0.0.1:${hub.port}`, LONGREACH_SECRET: HUB_SECRET });
  const pid = p.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  assert.equal(p.stdout(), 'before: False nothing\n', 'nothing loaded before breakpoint()');
  assert.deepEqual(listeningPorts(pid), [], 'an agent that dials a hub listens nowhere');
  const env = { LR_HUB_CLIENT: HUB_SECRET };
  type Row = { pid: number; target: string; info: { waiting?: { file: string; line: number } | null } };
  const deadline = Date.now() + 20_000;
  let row: Row | undefined;
  while (!row?.info.waiting && Date.now() < deadline) {
    const out = (await runCli(['list', `tcp://127.0.0.1:${hub.port}`, '--secret-env', 'LR_HUB_CLIENT', '--json'], { env })).stdout;
    row = out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Row).find((x) => x.pid === pid);
    if (!row?.info.waiting) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(row?.info.waiting, 'listed through the hub as waiting');
  assert.match(row.info.waiting.file, /breakpoint_here\.py$/);
  assert.equal(row.info.waiting.line, LINE);
  assert.match(row.target, new RegExp(`^tcp://127\\.0\\.0\\.1:${hub.port}\\?pid=${pid}$`));
  const r = await runCli(['attach', `tcp://127.0.0.1:${hub.port}?pid=${pid}`, '--secret-env', 'LR_HUB_CLIENT', '--batch', '-', '--timeout', '20'], { input: 'bt 1\ndetach\n', env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.stdout.includes(STOP), r.stdout);
  assert.equal(await p.exited, 0);
  assert.equal(p.stdout(), 'before: False nothing\nafter 42\nafterwards: nothing\n');
  assert.equal(p.stderr(), '');
});

test('LONGREACH_BREAKPOINT_WAIT elapses: listed as waiting, then the program carries on by itself', async (t) => {
  const port = await freePort();
  const p = runFixture(t, port, { PYTHONBREAKPOINT: 'longreach.breakpoint', LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET, LONGREACH_BREAKPOINT_WAIT: '3' });
  await waitForPort(port, p.child);
  assertWaitingRow(await listedWaiting(port));
  assert.equal(await p.exited, 0);
  assert.equal(p.stdout(), 'before: False nothing\nafter 42\nafterwards: listening\n');
  assert.equal(p.stderr(), '');
});

test('PYTHONBREAKPOINT=0: breakpoint() does nothing and nothing starts', async (t) => {
  const port = await freePort();
  const p = runFixture(t, port, { PYTHONBREAKPOINT: '0', LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET });
  assert.equal(await p.exited, 0);
  assert.equal(p.stdout(), 'before: False nothing\nafter 42\nafterwards: nothing\n');
  assert.equal(p.stderr(), '');
});

test('bad configuration: one stderr line naming the variable, and the program carries on', async (t) => {
  const dir = tempDir(t);
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const busyPort = (busy.address() as AddressInfo).port;
  const cases: { name: string; env: (port: number) => NodeJS.ProcessEnv; line: RegExp; port?: number }[] = [
    { name: 'hook set but no address', env: () => ({ LONGREACH_SECRET: SECRET }), line: /PYTHONBREAKPOINT=longreach\.breakpoint needs an address: set LONGREACH_LISTEN=HOST:PORT/ },
    { name: 'unreadable secret file', env: (port) => ({ LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET_FILE: join(dir, 'missing') }), line: /LONGREACH_SECRET_FILE \S+missing cannot be read \(No such file or directory\)/ },
    { name: 'port in use', env: (port) => ({ LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET }), line: /LONGREACH_LISTEN=127\.0\.0\.1:\d+: 127\.0\.0\.1:\d+ is already in use/, port: busyPort },
    { name: 'no secret beyond loopback', env: (port) => ({ LONGREACH_LISTEN: `0.0.0.0:${port}`, LONGREACH_NO_SECRET: '1' }), line: /LONGREACH_NO_SECRET=1 is refused with LONGREACH_LISTEN=0\.0\.0\.0:\d+/ },
  ];
  for (const c of cases) {
    const port = c.port ?? (await freePort());
    const p = runFixture(t, port, { PYTHONBREAKPOINT: 'longreach.breakpoint', ...c.env(port) });
    assert.equal(await p.exited, 0, `${c.name}: ${p.stderr()}`);
    const listening = c.port === undefined ? 'nothing' : 'listening';
    assert.equal(p.stdout(), `before: False ${listening}\nafter 42\nafterwards: ${listening}\n`, c.name);
    const lines = p.stderr().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `${c.name}: ${p.stderr()}`);
    assert.match(lines[0]!, /^longreach: breakpoint\(\) ignored: /, c.name);
    assert.match(lines[0]!, c.line, c.name);
    assert.doesNotMatch(p.stderr(), new RegExp(SECRET));
  }
});

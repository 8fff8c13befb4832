// `longreach inject PID`: load the agent into programs started without it — CPython 3.8-3.13 (through the Python
// injector) and Node.js (through its inspector, closed again) — then list, attach, break in code called after the
// load and in a thread running before it, detach, and the program ends with its own exit code. Plus the preflight
// errors this machine can produce.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, runCli } from '../helpers/cli.js';
import { trackChild } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';
import { listeningPorts, startHubProcess } from './hub-helpers.js';
import { APP, boundPort, BUSY, cpython, ENV, refused, startTarget } from './inject-helpers.js';

for (const minor of [8, 9, 10, 11, 12, 13]) {
  test(`inject into a running CPython 3.${minor}: list, break in a thread running before and in code called after, detach, exit code kept`, async (t) => {
    const python = cpython(minor);
    const target = await startTarget(t, [python, BUSY, '25']);
    const pid = target.child.pid!;
    const injected = await runCli(['inject', String(pid), '--listen', '127.0.0.1:0', '--secret-env', 'LR_INJECT_SECRET'], { env: { ...ENV, LONGREACH_PYTHON: python } });
    assert.equal(injected.code, 0, injected.stdout + injected.stderr);
    assert.match(injected.stdout, new RegExp(`agent started in process ${pid} \\(CPython 3\\.${minor}\\.\\d+\\)`));
    const port = boundPort(injected.stdout);
    const listed = await runCli(['list', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_INJECT_SECRET', '--json'], { env: ENV });
    assert.equal(listed.code, 0, listed.stderr);
    const row = JSON.parse(listed.stdout.trim().split("\n")[0]!) as { info?: { pid?: number } };
    assert.equal(row.info?.pid, pid, listed.stdout);
    const script = ['wait', 'bt 2', 'delete 1', `break ${BUSY}:23`, 'continue', 'p n', 'detach'].join('\n');
    const session = await runCli(['attach', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_INJECT_SECRET', '--break', `${BUSY}:12`, '--batch', '-', '--timeout', '30'], { input: script, env: ENV });
    assert.equal(session.code, 0, session.stdout + session.stderr);
    assert.match(session.stdout, /Stopped at .*breakpoint.* in thread worker \(\d+\)\n> test\/fixtures\/inject\/busy\.py:12 in worker_step\(\)/);
    assert.match(session.stdout, /#1 +worker\(\) at test\/fixtures\/inject\/busy\.py:18/);
    assert.match(session.stdout, /Stopped at .*breakpoint.* in thread MainThread \(\d+\)\n> test\/fixtures\/inject\/busy\.py:23 in main_step\(\)/);
    assert.match(session.stdout, /Detached; the program keeps running\./);
    assert.equal(await target.exited, 7, target.stderr());
    assert.equal(target.stdout(), 'ready\n');
    assert.equal(target.stderr(), '');
  });
}

test('inject --connect: a running CPython dials a hub (listening nowhere), is attached through it with ?pid=, exit code kept', async (t) => {
  const python = cpython(12);
  const hub = await startHubProcess(t, { secret: ENV.LR_INJECT_SECRET });
  const target = await startTarget(t, [python, BUSY, '25']);
  const pid = target.child.pid!;
  const bad = await runCli(['inject', String(pid), '--connect', `127.0.0.1:${hub.port}`, '--no-secret'], { env: { LONGREACH_PYTHON: python } });
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /--connect needs a secret/);
  const injected = await runCli(['inject', String(pid), '--connect', `127.0.0.1:${hub.port}`, '--secret-env', 'LR_INJECT_SECRET'], { env: { ...ENV, LONGREACH_PYTHON: python } });
  assert.equal(injected.code, 0, injected.stdout + injected.stderr);
  assert.match(injected.stdout, new RegExp(`dialing the hub 127\\.0\\.0\\.1:${hub.port}\n`));
  assert.match(injected.stdout, new RegExp(`attach with: longreach attach 'tcp://127\\.0\\.0\\.1:${hub.port}\\?pid=${pid}' --secret-env LR_INJECT_SECRET`));
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  assert.deepEqual(listeningPorts(pid), [], 'an injected agent in connect mode listens nowhere');
  const script = ['wait', `break ${BUSY}:23`, 'continue', 'p n', 'detach'].join('\n');
  const session = await runCli(['attach', `tcp://127.0.0.1:${hub.port}?pid=${pid}`, '--secret-env', 'LR_INJECT_SECRET', '--break', `${BUSY}:12`, '--batch', '-', '--timeout', '30'], { input: script, env: ENV });
  assert.equal(session.code, 0, session.stdout + session.stderr);
  assert.match(session.stdout, /Stopped at .*breakpoint.* in thread worker \(\d+\)\n> test\/fixtures\/inject\/busy\.py:12 in worker_step\(\)/);
  assert.match(session.stdout, /Detached; the program keeps running\./);
  assert.equal(await target.exited, 7, target.stderr());
  assert.equal(target.stderr(), '');
});

test('inject into a plain `node app.js`: attach, break, detach; the inspector port is closed again and the exit code kept', async (t) => {
  const target = await startTarget(t, [process.execPath, APP, '20']);
  const pid = target.child.pid!;
  const dial = await runCli(['inject', String(pid), '--connect', '127.0.0.1:9', '--secret-env', 'LR_INJECT_SECRET'], { env: ENV });
  assert.equal(dial.code, 2, dial.stdout + dial.stderr);
  assert.match(dial.stderr, /--connect is for Python targets; load a Node\.js process with --listen/);
  const injected = await runCli(['inject', String(pid), '--listen', '127.0.0.1:0', '--secret-env', 'LR_INJECT_SECRET'], { env: ENV });
  assert.equal(injected.code, 0, injected.stdout + injected.stderr);
  const inspectorPort = Number(/its inspector \(port (\d+)\) is closed again/.exec(injected.stdout)?.[1]);
  assert.ok(inspectorPort > 0, injected.stdout);
  assert.equal(await refused(inspectorPort), true, 'nothing may listen on the old inspector port');
  const port = boundPort(injected.stdout);
  const script = ['wait', 'p n', 'bt 1', 'detach'].join('\n');
  const session = await runCli(['attach', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_INJECT_SECRET', '--break', `${APP}:5`, '--batch', '-', '--timeout', '30'], { input: script, env: ENV });
  assert.equal(session.code, 0, session.stdout + session.stderr);
  assert.match(session.stdout, /longreach-node/);
  // (a stop that happens while attach is answered is shown as "paused" by the Node agent: a known race, not ours)
  assert.match(session.stdout, /Stopped (at .*breakpoint|paused).*\n> test\/fixtures\/inject\/app\.js:5 in tick\(\)/);
  assert.match(session.stdout, /^1 +\(number\)$/m);
  assert.match(session.stdout, /Detached; the program keeps running\./);
  const again = await runCli(['inject', String(pid), '--listen', '127.0.0.1:0', '--secret-env', 'LR_INJECT_SECRET'], { env: ENV });
  assert.equal(again.code, 1, again.stdout);
  assert.match(again.stderr, new RegExp(`\\[LR_ALREADY_ENABLED\\].*listening on 127\\.0\\.0\\.1:${port}`));
  assert.equal(await refused(inspectorPort), true, 'the second try closed the inspector again too');
  assert.equal(await target.exited, 9, target.stderr());
  assert.doesNotMatch(target.stderr(), /Warning/);
});

test('inject refuses a process named node that does not handle SIGUSR1, and sends it nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-fake-node-'));
  const fake = join(dir, 'node');
  copyFileSync('/bin/sleep', fake);
  const child = spawn(fake, ['30'], { stdio: 'ignore' });
  const tracked = trackChild(t, child);
  await new Promise((r) => setTimeout(r, 200));
  const result = await runCli(['inject', String(child.pid), '--listen', '0', '--secret-env', 'LR_INJECT_SECRET'], { env: ENV });
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stderr, /\[LR_INJECT_UNSUPPORTED\].*does not handle SIGUSR1 \(started with --disable-sigusr1/);
  assert.equal(child.exitCode, null, 'the process is still running');
  child.kill();
  await tracked.exited;
});

test('inject into a Node program busy in synchronous code: refused before any signal, the program untouched', async (t) => {
  const child = spawn(process.execPath, ['test/fixtures/inject/spin.js', '3'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const target = trackChild(t, child);
  while (!target.stdout().includes('ready')) await new Promise((r) => setTimeout(r, 20));
  child.stdin!.write('go\n');
  while (!target.stdout().includes('spinning')) await new Promise((r) => setTimeout(r, 20));
  const result = await runCli(['inject', String(child.pid), '--listen', '127.0.0.1:0', '--secret-env', 'LR_INJECT_SECRET'], { env: ENV });
  assert.equal(result.code, 1, result.stdout);
  assert.match(result.stderr, /\[LR_INJECT_FAILED\]: .* is busy running code on its main thread .*nothing was sent/);
  assert.equal(await target.exited, 6, target.stderr());
  assert.equal(target.stderr(), '', 'no inspector was opened');
});

test('inject refuses another user\'s process with the sudo line', async (t) => {
  // as root: the CLI runs as nobody against our own node process; otherwise: against pid 1 (root's)
  const root = process.geteuid?.() === 0;
  let pid = 1;
  if (root) pid = (await startTarget(t, [process.execPath, APP, '20'])).child.pid!;
  const argv = [...(root ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []), process.execPath, BIN, 'inject', String(pid), '--listen', '0', '--secret-env', 'LR_INJECT_SECRET'];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  const run = trackChild(t, child);
  assert.equal(await run.exited, 1, run.stdout());
  assert.match(run.stderr(), /\[LR_INJECT_REFUSED\]: process \d+ \(\S+\) runs as root and you are \S+; only the same user or root may load code into it: run `sudo -u root longreach inject \d+ \.\.\.`/);
});

test('inject: a process that is neither Node nor Python, no such process, usage errors', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const tracked = trackChild(t, child);
  await new Promise((r) => setTimeout(r, 100));
  const other = await runCli(['inject', String(child.pid), '--listen', '0', '--secret-env', 'LR_INJECT_SECRET'], { env: ENV });
  assert.equal(other.code, 1);
  assert.match(other.stderr, /\[LR_INJECT_UNSUPPORTED\]: .*is neither Node\.js nor Python \(its program is .*sleep\)/);
  child.kill();
  await tracked.exited;
  const missing = await runCli(['inject', '4194000', '--listen', '0', '--no-secret']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\[LR_BAD_OPTION\]: there is no process 4194000/);
  for (const [args, text] of [
    [['inject'], /inject needs one process id/],
    [['inject', '12', '--secret-env', 'X'], /--listen \[HOST:\]PORT is required/],
    [['inject', '12', '--listen', '99999', '--no-secret'], /expected \[HOST:\]PORT/],
    [['inject', '12', '--listen', '0'], /choose exactly one of --secret-env/],
    [['inject', '12', '--listen', '0', '--no-secret', '--timeout', 'x'], /--timeout x/],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, text);
  }
});

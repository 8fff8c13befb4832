// The Node agent's job pieces that need no process (docs/protocol.md 5.3): what LONGREACH_JOB says, NODE_OPTIONS,
// labels, the hold, LONGREACH_SUBPROCESS, the numbering of a job session's ids, and a child's wait for the job to wake.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { AWAKE_POLL_MS, attachedFlag, awakeFlag, decodeJob, encodeJob, encodeOff, holdSeconds, hookFlag, nodeLabel, requireEsmSilently, wakeSeconds, whenAwake, withHook } from '../../src/agent-node/job/config.js';
import { inward, join, outward, routeOf, split } from '../../src/agent-node/job/ids.js';
import { configFromEnv } from '../../src/agent-node/register-config.js';

test('LONGREACH_JOB: the Python agent\'s shape reads back; off, stale and malformed values', () => {
  const text = encodeJob({ socket: '/tmp/x/gw', token: 'ab'.repeat(32), root: 42, redirect: true, hold: 5, dormant: 60 });
  assert.deepEqual(decodeJob(text), { kind: 'join', root: 42, config: { v: 1, socket: '/tmp/x/gw', token: 'ab'.repeat(32), root: 42, redirect: true, hold: 5, dormant: 60 } });
  // what python/longreach/job/config.py encode() writes: no "dormant", so a Node.js child of a Python root joins awake
  // ("signal": the Python root wakes its Python processes with SIGURG; a Node.js child looks for the flag as ever)
  const python = '{"v":1,"socket":"/tmp/p/gw","token":"t0k","root":7,"redirect":false,"hold":2.5,"signal":true}';
  assert.deepEqual(decodeJob(python), { kind: 'join', root: 7, config: { v: 1, socket: '/tmp/p/gw', token: 't0k', root: 7, redirect: false, hold: 2.5, dormant: 0 } });
  assert.deepEqual(decodeJob(encodeOff(9)), { kind: 'off', root: 9 });
  for (const bad of [undefined, '', 'not json', '[]', 'null', '{"v":2,"socket":"s","token":"t","root":1}', '{"v":1,"token":"t","root":1}', '{"v":1,"socket":"s","token":"","root":1}', '{"v":1,"socket":"s","token":"t","root":"1"}']) {
    assert.equal(decodeJob(bad), null, String(bad));
  }
  assert.equal((decodeJob('{"v":1,"socket":"s","token":"t","root":1,"hold":99}') as { config: { hold: number } }).config.hold, 5);
  for (const [dormant, seconds] of [['true', 0], ['-1', 0], ['0', 0], ['"60"', 0], ['9999', 0], ['0.5', 0.5], ['120', 120]] as const) {
    assert.equal((decodeJob(`{"v":1,"socket":"s","token":"t","root":1,"dormant":${dormant}}`) as { config: { dormant: number } }).config.dormant, seconds, dormant);
  }
});

test('NODE_OPTIONS gains the hook once: --require of hook.cjs where require(esm) is silent, else --import; hold seconds; labels', () => {
  const url = 'file:///opt/longreach/dist/src/agent-node/register.js';
  const hook = '/opt/longreach/dist/src/agent-node/job/hook.cjs';
  assert.equal(hookFlag(false, hook, url), `--import=${url}`);
  assert.equal(hookFlag(true, hook, url), `--require=${hook}`);
  assert.equal(hookFlag(true, '/my dir/a"b\\c/hook.cjs', url), '--require="/my dir/a\\"b\\\\c/hook.cjs"');
  const flag = hookFlag(true, hook, url);
  assert.equal(withHook(undefined, flag), flag);
  assert.equal(withHook('--max-old-space-size=100', flag), `--max-old-space-size=100 ${flag}`);
  assert.equal(withHook(withHook('', flag), flag), flag);
  assert.equal(withHook(` --import=${url} `, flag), `--import=${url} ${flag}`);
  // require(esm) with no warning: 20.19+, 22.13+, 23.5+, 24+; never without process.features.require_module
  for (const [version, silent] of [['20.18.3', false], ['20.19.0', true], ['v20.20.2', true], ['21.7.3', false], ['22.12.0', false], ['22.13.1', true], ['23.4.0', false], ['23.5.0', true], ['24.0.0', true], ['25.1.0', true]] as const) {
    assert.equal(requireEsmSilently(true, version), silent, version);
    assert.equal(requireEsmSilently(undefined, version), false, version);
    assert.equal(requireEsmSilently(false, version), false, version);
  }
  assert.equal(holdSeconds({}), 5);
  assert.equal(holdSeconds({ LONGREACH_JOB_HOLD: '0.5' }), 0.5);
  assert.equal(holdSeconds({ LONGREACH_JOB_HOLD: '-1' }), 5);
  assert.equal(holdSeconds({ LONGREACH_JOB_HOLD: 'soon' }), 5);
  assert.equal(wakeSeconds({}), 60);
  assert.equal(wakeSeconds({ LONGREACH_JOB_WAKE: '0' }), 0);
  assert.equal(wakeSeconds({ LONGREACH_JOB_WAKE: '10' }), 10);
  assert.equal(wakeSeconds({ LONGREACH_JOB_WAKE: '7200' }), 60);
  assert.equal(wakeSeconds({ LONGREACH_JOB_WAKE: 'later' }), 60);
  assert.equal(nodeLabel(2, true, ['node', '/app/main.js']), 'cluster worker 2');
  assert.equal(nodeLabel(undefined, true, ['node', '/app/worker.js']), 'fork');
  assert.equal(nodeLabel(undefined, false, ['node', '/app/worker.js', 'x']), 'worker.js');
  assert.equal(nodeLabel(undefined, false, ['node']), '');
});

test('LONGREACH_SUBPROCESS: 0 or false turns following off; anything else unknown is refused', () => {
  assert.equal(configFromEnv({ LONGREACH_SECRET: 's' }).options.subprocess, undefined);
  assert.equal(configFromEnv({ LONGREACH_SECRET: 's', LONGREACH_SUBPROCESS: '0' }).options.subprocess, false);
  assert.equal(configFromEnv({ LONGREACH_SECRET: 's', LONGREACH_SUBPROCESS: 'false' }).options.subprocess, false);
  assert.equal(configFromEnv({ LONGREACH_SECRET: 's', LONGREACH_SUBPROCESS: '1' }).options.subprocess, undefined);
  assert.throws(() => configFromEnv({ LONGREACH_SECRET: 's', LONGREACH_SUBPROCESS: 'maybe' }), { code: 'LR_BAD_OPTION', message: /LONGREACH_SUBPROCESS="maybe".*use 0/ });
});

test('job session ids: a child\'s ids carry its slot above 2^31, exactly; requests route by their first id', () => {
  const id = join(3, 1) as number;
  assert.equal(id, 3 * 2 ** 31 + 1);
  assert.deepEqual(split(id), [3, 1]);
  assert.equal(join(0, 5), 5);
  assert.deepEqual(split(join(2 ** 22 - 1, 2 ** 31 - 1)), [2 ** 22 - 1, 2 ** 31 - 1]);
  assert.equal(routeOf({ threadId: 1 }), 0);
  assert.equal(routeOf({ frameId: join(2, 7) }), 2);
  assert.equal(routeOf({ source: { sourceReference: join(4, 1) } }), 4);
  assert.deepEqual(inward({ variablesReference: join(2, 9), count: 3 }), { variablesReference: 9, count: 3 });
  const body = outward({ threads: [{ id: 1, name: 'main' }] }, 2, 'pid 9 fork: ') as { threads: { id: number; name: string }[] };
  assert.deepEqual(body.threads, [{ id: join(2, 1), name: 'pid 9 fork: main' }]);
  const frames = outward({ stackFrames: [{ id: 4, name: 'f', source: { path: '/a.js', sourceReference: 0 } }], totalFrames: 1 }, 1) as { stackFrames: { id: number }[] };
  assert.equal(frames.stackFrames[0]!.id, join(1, 4));
  assert.deepEqual(outward({ reason: 'breakpoint', threadId: 1, hitBreakpointIds: [3] }, 1), { reason: 'breakpoint', threadId: join(1, 1) });
});

test('a hook path with a space, a quote and a backslash reaches a real Node.js child through NODE_OPTIONS', (t) => {
  const dir = mkdtempSync(joinPath(tmpdir(), 'lr-hook-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const odd = joinPath(dir, 'a b"c\\d');
  mkdirSync(odd);
  const file = joinPath(odd, 'hook.cjs');
  writeFileSync(file, 'process.stdout.write("hook ran: " + __filename + "\\n");\n');
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write("program ran\\n")'], { env: { ...process.env, NODE_OPTIONS: withHook('--max-old-space-size=200', hookFlag(true, file, 'file:///unused')) }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `hook ran: ${file}\nprogram ran\n`);
});

test('a child waits for the job to wake: the awake flag next to the gateway\'s socket, looked for at once, then every AWAKE_POLL_MS until it appears or the job is gone', async (t) => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const dir = mkdtempSync(joinPath(tmpdir(), 'lr-awake-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = joinPath(dir, 'gw');
  const flag = joinPath(dir, 'awake');
  assert.equal(awakeFlag({ socket }), flag);
  assert.equal(attachedFlag({ socket }), joinPath(dir, 'attached'));
  assert.equal(AWAKE_POLL_MS, 250);
  writeFileSync(socket, ''); // (stands for the gateway's socket)
  let calls = 0;
  whenAwake({ socket }, () => (calls += 1));
  await sleep(3 * AWAKE_POLL_MS);
  assert.equal(calls, 0, 'joined a job nobody asked for');
  writeFileSync(flag, '');
  const woke = performance.now();
  while (calls === 0 && performance.now() - woke < 5_000) await sleep(10);
  assert.equal(calls, 1);
  await sleep(3 * AWAKE_POLL_MS);
  assert.equal(calls, 1, 'joined twice');
  whenAwake({ socket }, () => (calls += 1));
  assert.equal(calls, 2, 'an awake job is joined at once');
  // the job gone (its folder goes with the root): the looks stop
  rmSync(flag);
  let late = 0;
  whenAwake({ socket }, () => (late += 1));
  rmSync(socket);
  await sleep(2 * AWAKE_POLL_MS);
  writeFileSync(flag, '');
  await sleep(3 * AWAKE_POLL_MS);
  assert.equal(late, 0, 'still looking after the job had gone');
  // the timer never keeps a process alive: a child that waits ends when its program does
  writeFileSync(socket, '');
  rmSync(flag);
  const variable = fileURLToPath(new URL('../../src/agent-node/job/variable.cjs', import.meta.url));
  const program = `require(${JSON.stringify(variable)}).whenAwake({ socket: ${JSON.stringify(socket)} }, () => console.log('joined'))`;
  const started = performance.now();
  const r = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(performance.now() - started < 10_000);
});

test('a job\'s root with no child process has nobody to wait for after the wake (hasChildren)', () => {
  // in a fresh process: this one may have children of other tests
  const gateway = fileURLToPath(new URL('../../src/agent-node/job/procfs.js', import.meta.url));
  const code = `const { hasChildren } = await import(${JSON.stringify(gateway)});
const before = hasChildren();
const { spawn } = await import('node:child_process');
const child = spawn('sleep', ['30']);
await new Promise((resolve) => child.once('spawn', resolve));
console.log(before, hasChildren());
child.kill();`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.stdout.trim(), 'false true', r.stderr);
});

test('job session: a process that joins while attach brings in the others is brought in once', async () => {
  // the whole-job attach wakes the job, so a child can join while #attach() is bringing in the processes there: the
  // gateway's join and attach's own must open one session, not two (the second closed the first as an exec's)
  const { JobSession } = await import('../../src/agent-node/job/job-session.js');
  const member = { pid: 4246, ppid: process.pid, link: null, capabilities: {}, helper: false, execd: false, info: null, dormant: false, image: null } as unknown as import('../../src/agent-node/job/job-session.js').Member;
  const asked: number[] = [];
  let joined: Promise<void> | null = null;
  let session: InstanceType<typeof JobSession> | null = null;
  const gateway = {
    members: () => [member],
    isMember: () => false,
    openSession: async (m: typeof member) => { asked.push(m.pid); return null; },
    endTheRest: (_told: Set<number>) => undefined,
  };
  const root = {
    // the member joins while the root answers attach (what the gateway does when a process joins the job)
    handle: async (command: string) => { if (command === 'attach') joined = session!.join(member); return {}; },
    close: () => undefined,
  };
  session = new JobSession(gateway, { peer: '127.0.0.1:5', isTls: false, sendEvent: () => true }, () => root, () => undefined);
  await session.handle('attach', {});
  await joined;
  assert.deepEqual(asked, [4246]);
});

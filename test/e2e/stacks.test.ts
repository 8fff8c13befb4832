// `longreach stacks`: every thread's stack of a running program, which keeps running — a busy multi-threaded Python
// program and Node.js (idle in its event loop, and busy in synchronous code), each read without stopping it; a port
// range reads every process of a job.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { runCli, startAgent } from '../helpers/cli.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { trackChild } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';
import { REGISTER, SECRET } from './agent-node-helpers.js';

const THREADS = 'test/fixtures/inject/threads.py';
const SPIN = 'test/fixtures/inject/spin.js';
const ENV = { LR_CLI_SECRET: 'cli-secret' };

test('stacks on a busy multi-threaded Python program: every thread where it is, and the program runs on', async (t) => {
  const program = await startAgent(t, THREADS, { wait: false, args: ['6'] });
  await new Promise((r) => setTimeout(r, 300)); // the threads are started
  const result = await runCli(['stacks', `tcp://127.0.0.1:${program.port}`, '--secret-env', 'LR_CLI_SECRET'], { env: { LR_CLI_SECRET: 'cli-secret' } });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /\(read without stopping it\)/);
  assert.match(result.stdout, /Thread cruncher \(\d+\)\n {2}#0 {2}crunch\(\) at test\/fixtures\/inject\/threads\.py:1[56]\n/);
  assert.match(result.stdout, /Thread waiter \(\d+\)\n {2}#0 {2}wait_forever\(\) at test\/fixtures\/inject\/threads\.py:21\n/);
  assert.match(result.stdout, /Thread sleeper \(\d+\)\n {2}#0 {2}nap\(\) at test\/fixtures\/inject\/threads\.py:26\n/);
  assert.match(result.stdout, /Thread MainThread \(\d+\)\n {2}#0 {2}main_loop\(\) at test\/fixtures\/inject\/threads\.py:3[12]\n {2}#1 {2}<module>\(\) at test\/fixtures\/inject\/threads\.py:38\n/);
  // a port range: every process of a job that listens there (here one), as JSON
  const json = await runCli(['stacks', `tcp://127.0.0.1:${program.port}-${program.port + 1}`, '--secret-env', 'LR_CLI_SECRET', '--json'], { env: ENV });
  assert.equal(json.code, 0, json.stderr);
  const row = JSON.parse(json.stdout.trim()) as { ok: boolean; how: string; threads: { name: string; frames: { name: string; line: number }[] }[] };
  assert.equal(row.ok, true);
  assert.equal(row.how, 'snapshot');
  assert.deepEqual(row.threads.map((th) => th.name).sort(), ['MainThread', 'cruncher', 'sleeper', 'waiter']);
  assert.equal(row.threads.find((th) => th.name === 'waiter')?.frames[0]?.line, 21);
  assert.equal(await program.exited, 4, program.stderr());
});

test('stacks on Node.js: idle in the event loop, then busy in synchronous code, never paused', async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', REGISTER, SPIN, '4'], { cwd: ROOT, env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET, LR_NODE_SECRET: SECRET }, stdio: ['pipe', 'pipe', 'pipe'] });
  const program = trackChild(t, child);
  await waitForPort(port, child);
  // the program waits for a line on stdin: its main thread is in the event loop
  const idle = await runCli(['stacks', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_NODE_SECRET'], { env: { LR_NODE_SECRET: SECRET } });
  assert.equal(idle.code, 0, idle.stdout + idle.stderr);
  assert.match(idle.stdout, /\(read without stopping it\)\n\nThread main \(1\): no code running \(waiting for events\)\n/);
  child.stdin!.write('go\n');
  while (!program.stdout().includes('spinning')) await new Promise((r) => setTimeout(r, 20));
  const spinning = await runCli(['stacks', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_NODE_SECRET'], { env: { LR_NODE_SECRET: SECRET } });
  assert.equal(spinning.code, 0, spinning.stdout + spinning.stderr);
  assert.match(spinning.stdout, /\(read without stopping it\)/);
  assert.match(spinning.stdout, /Thread main \(1\)\n {2}#0 {2}(work\(\) at test\/fixtures\/inject\/spin\.js:4|spin\(\) at test\/fixtures\/inject\/spin\.js:9)\n/);
  assert.match(spinning.stdout, /spin\(\) at test\/fixtures\/inject\/spin\.js:9\n/);
  assert.match(spinning.stdout, /at test\/fixtures\/inject\/spin\.js:14\n/);
  assert.equal(await program.exited, 6, program.stderr());
});

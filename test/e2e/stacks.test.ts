// `longreach stacks`: every thread's stack of a running program, which keeps running — a busy multi-threaded Python
// program and Node.js (idle in its event loop, and busy in synchronous code), each read without stopping it; a port
// range reads every process of a job; a job's root (its one address, no ?pid=) and a hub read every process they
// reach, and ?pid= still reads one; over tcps:// on a terminal an unknown certificate is asked about once for them all.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, waitForPort } from '../helpers/ports.js';
import { trackChild } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';
import { REGISTER, SECRET } from './agent-node-helpers.js';
import { JOB_SECRET_ENV, jobEnd, printedPids, startJob, waitForRows } from '../helpers/job.js';
import { BIN, PYTHON, runCli, startAgent } from '../helpers/cli.js';
import { Tmux } from '../helpers/tmux.js';
import { tempDir } from '../helpers/tls-fixtures.js';
import { HUB_SECRET, startHubProcess, startPythonDialer } from './hub-helpers.js';

const THREADS = 'test/fixtures/inject/threads.py';
const SPIN = 'test/fixtures/inject/spin.js';
const ENV = { LR_CLI_SECRET: 'cli-secret' };
const JOB_SPIN = 'test/fixtures/inject/job_spin.py';

/** The text output cut into one block per process, keyed by its header's qualifier. */
function blocks(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = stdout.split(/^(tcps?:\/\/\S+) {2}\(read without stopping it\)\n/m);
  for (let i = 1; i < parts.length; i += 2) out.set(parts[i]!, parts[i + 1]!);
  return out;
}

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

test('stacks on a Python job\'s root reads every process of the job (root and a spinning child); ?pid= reads one; both run on', { timeout: 90_000 }, async (t) => {
  const job = await startJob(t, PYTHON, JOB_SPIN);
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  assert.equal(rows.length, 2, JSON.stringify(rows));
  const root = job.child.pid!;
  const child = rows.find((r) => r.pid !== root)!.pid;
  while (!job.stdout().includes('child spinning')) await new Promise((r) => setTimeout(r, 20));
  const address = `tcp://127.0.0.1:${job.port}`;
  const result = await runCli(['stacks', address, '--secret-env', 'LR_JOB_SECRET'], { env: JOB_SECRET_ENV });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const read = blocks(result.stdout);
  assert.deepEqual([...read.keys()], [`${address}?pid=${root}`, `${address}?pid=${child}`], result.stdout);
  // (a frame of the library the loop calls may be on top: subprocess's poll(), os.path.exists())
  assert.match(read.get(`${address}?pid=${root}`)!, /Thread MainThread \(\d+\)\n(?: {2}#\d+ {2}[^\n]*\n)*? {2}#\d+ {2}root_wait\(\) at test\/fixtures\/inject\/job_spin\.py:(19|20)\n {2}#\d+ {2}<module>\(\) at test\/fixtures\/inject\/job_spin\.py:30\n/);
  assert.match(read.get(`${address}?pid=${child}`)!, /Thread MainThread \(\d+\)\n(?: {2}#\d+ {2}[^\n]*\n)*? {2}#\d+ {2}child_spin\(\) at test\/fixtures\/inject\/job_spin\.py:1[1-4]\n {2}#\d+ {2}<module>\(\) at test\/fixtures\/inject\/job_spin\.py:26\n/);
  assert.doesNotMatch(read.get(`${address}?pid=${root}`)!, /child_spin/);
  // the root runs under `python -m longreach`: its stack ends at the program's <module>, as a stop's does, without
  // the launcher's frames and runpy's below it
  assert.doesNotMatch(read.get(`${address}?pid=${root}`)!, /longreach\/__main__\.py|runpy/, result.stdout);
  // --json: one object per process
  const json = await runCli(['stacks', address, '--secret-env', 'LR_JOB_SECRET', '--json'], { env: JOB_SECRET_ENV });
  assert.equal(json.code, 0, json.stderr);
  const objects = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { target: string; ok: boolean; how: string; threads: { frames: { name: string }[] }[] });
  assert.deepEqual(objects.map((o) => [o.target, o.ok, o.how]), [[`${address}?pid=${root}`, true, 'snapshot'], [`${address}?pid=${child}`, true, 'snapshot']]);
  assert.ok(objects[1]!.threads.some((th) => th.frames.some((f) => f.name === 'child_spin')), json.stdout);
  // a reader that stops after the first line (`| head -1`): the command ends quietly with 0 (it used to die of an
  // unhandled EPIPE when it wrote the next process's stacks)
  const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" stacks ${address} --secret-env LR_JOB_SECRET | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { cwd: ROOT, env: { ...process.env, ...JOB_SECRET_ENV }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(piped.stdout, `${address}?pid=${root}  (read without stopping it)\n`);
  assert.equal(piped.stderr, 'status 0\n');
  // ?pid= stays one process
  const one = await runCli(['stacks', `${address}?pid=${child}`, '--secret-env', 'LR_JOB_SECRET'], { env: JOB_SECRET_ENV });
  assert.equal(one.code, 0, one.stdout + one.stderr);
  assert.deepEqual([...blocks(one.stdout).keys()], [`${address}?pid=${child}`]);
  assert.match(one.stdout, /child_spin\(\)/);
  // both kept running: the child is still spinning until it is told to stop, then the job ends as it would alone
  assert.equal(job.child.exitCode, null);
  assert.doesNotMatch(job.stdout(), /done/);
  job.stop();
  assert.equal(await job.exited, 5, job.stderr());
  assert.equal(job.stdout(), 'child spinning\nchild done\nroot done (child 0)\n');
});

test('stacks on a Python job\'s root: a process of the job that has not joined it is not read, says why, and is no failure', { timeout: 90_000 }, async (t) => {
  const job = await startJob(t, PYTHON, 'test/fixtures/python/job/job.py', ['other']);
  const other = (await printedPids(job.stdout, ['other'])).other![0]!;
  const address = `tcp://127.0.0.1:${job.port}`;
  const text = await runCli(['stacks', address, '--secret-env', 'LR_JOB_SECRET'], { env: JOB_SECRET_ENV });
  assert.equal(text.code, 0, text.stdout + text.stderr);
  assert.match(text.stdout, new RegExp(`^${address}\\?pid=${job.child.pid}  \\(read without stopping it\\)$`, 'm'));
  assert.match(text.stdout, new RegExp(`^${address}\\?pid=${other}  \\(not read: process ${other} belongs to this job but runs sleep, which does not join it \\(only Python and Node\\.js processes do\\)\\)$`, 'm'));
  const json = await runCli(['stacks', address, '--secret-env', 'LR_JOB_SECRET', '--json'], { env: JOB_SECRET_ENV });
  assert.equal(json.code, 0, json.stdout + json.stderr);
  const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { target: string; ok: boolean; notJoined?: string });
  assert.deepEqual(lines.map((l) => [l.target, l.ok]), [[`${address}?pid=${job.child.pid}`, true], [`${address}?pid=${other}`, false]]);
  assert.match(lines[1]!.notJoined!, /^runs sleep, which does not join it/);
  assert.equal(await jobEnd(job), 0);
});

test('stacks on a hub reads every agent that dialed it', { timeout: 90_000 }, async (t) => {
  const hub = await startHubProcess(t);
  const agent = startPythonDialer(t, hub.port);
  const pid = agent.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  const address = `tcp://127.0.0.1:${hub.port}`;
  const result = await runCli(['stacks', address, '--secret-env', 'LR_HUB_CLIENT'], { env: { LR_HUB_CLIENT: HUB_SECRET } });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const read = blocks(result.stdout);
  assert.deepEqual([...read.keys()], [`${address}?pid=${pid}`], result.stdout);
  assert.match(read.get(`${address}?pid=${pid}`)!, /Thread MainThread \(\d+\)\n {2}#0 {2}(tick\(\) at test\/fixtures\/python\/hub_loop\.py:\d+\n {2}#1 {2})?<module>\(\) at test\/fixtures\/python\/hub_loop\.py:1[45]\n/);
  assert.equal(agent.child.exitCode, null, 'the program still runs');
});

test('stacks over tcps:// on a terminal: an unknown certificate is asked about once for every process of a job', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t, 'lr-stacks-tls-');
  const made = await runCli(['cert', 'create', '--out', dir]);
  assert.equal(made.code, 0, made.stdout + made.stderr);
  const job = await startJob(t, PYTHON, JOB_SPIN, [], { launcher: ['--certfile', join(dir, 'cert.pem'), '--keyfile', join(dir, 'key.pem')] });
  const root = job.child.pid!;
  const address = `tcps://127.0.0.1:${job.port}`;
  const fingerprint = /Fingerprint: (sha256:[0-9a-f]{64})/.exec(made.stdout)?.[1];
  assert.ok(fingerprint, made.stdout);
  // both processes are in the job (listed with the certificate pinned, so nothing is remembered)
  for (let listed = 0; listed < 2; await new Promise((r) => setTimeout(r, 200))) {
    const r = await runCli(['list', `${address}?fingerprint=${fingerprint}`, '--secret-env', 'LR_JOB_SECRET', '--json'], { env: JOB_SECRET_ENV });
    listed = r.stdout.split('\n').filter((l) => l.includes('"ok":true')).length;
  }
  while (!job.stdout().includes('child spinning')) await new Promise((r) => setTimeout(r, 20));
  const config = tempDir(t, 'lr-stacks-config-');
  const tmux = Tmux.start(t, [process.execPath, BIN, 'stacks', address, '--secret-env', 'LR_JOB_SECRET'], { ...JOB_SECRET_ENV, XDG_CONFIG_HOME: config, NO_COLOR: '1', TERM: 'xterm' }, ROOT);
  await tmux.waitFor(/Trust once \[o\], always \[a\], or abort \[N\]\? ?$/m);
  tmux.type('o');
  tmux.keys('Enter');
  const deadline = Date.now() + 30_000;
  while (!tmux.dead() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const screen = tmux.screen();
  assert.equal(screen.split('Trust once [o]').length - 1, 1, screen);
  assert.match(screen, new RegExp(`^${address}\\?pid=${root} {2}\\(read without stopping it\\)$`, 'm'));
  assert.match(screen, /child_spin\(\)/);
  assert.equal((screen.match(/ {2}\(read without stopping it\)$/gm) ?? []).length, 2, screen);
  job.stop();
  assert.equal(await job.exited, 5, job.stderr());
});

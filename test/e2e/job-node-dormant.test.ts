// A Node.js job with nobody debugging it (docs/protocol.md 5.3): once a client has asked for the job (here the first
// listing) a child joins it dormant (src/agent-node/job/dormant.cts), listed with its label but with no agent worker
// thread; the first client that selects it (?pid=) wakes it, and it stops at its breakpoints as any member does. One
// busy in synchronous code cannot wake until it yields: ?pid= says so, and works once it has; one nobody selects
// starts its worker by itself once it has run LONGREACH_JOB_WAKE seconds (default 60; 10 here), so a process stuck
// later in its life can still be attached. Attaching to the whole job never waits for a dormant child that is busy:
// the job session starts at once with the processes that answer, and the busy child joins it when it yields.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { attachBatch, JOB_SECRET_ENV, listJob, waitForRows, type Job } from '../helpers/job.js';
import { NODE_WORK, startNodeJob, tickLine } from '../helpers/node-job.js';

async function waitForOutput(job: Job, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!job.stdout().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in the job's output:\n${job.stdout()}\n${job.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('job (Node.js), nobody attached: a child joins dormant, listed with no agent worker; ?pid= wakes it and it stops', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'dormant:probe:3000:6000');
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  assert.deepEqual(rows.map((r) => r.label), ['', 'dormant.mjs'], JSON.stringify(rows));
  await waitForOutput(job, 'probe at 3000: agent false');
  // listing asks the dormant child for its details; that does not wake it
  const again = await listJob(job.port);
  assert.deepEqual(again.map((r) => [r.pid, r.label]), rows.map((r) => [r.pid, r.label]));
  assert.deepEqual(again[1]!.info.argv.slice(-3), ['probe', '3000', '6000']);
  await waitForOutput(job, 'probe at 6000: agent false');
  const child = rows[1]!;
  const r = await attachBatch(child.target, "p process.pid\np Symbol.for('longreach.agent') in globalThis\n", ['--break', `${NODE_WORK}:${tickLine()}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Stopped at breakpoint 1 in thread main \(1\)/);
  assert.match(r.stdout, new RegExp(`^${child.pid} {2}\\(number\\)$`, 'm'));
  assert.match(r.stdout, /^true {2}\(boolean\)$/m);
  // awake now: listed once, with the same label (not as a new process)
  assert.deepEqual((await listJob(job.port)).map((row) => [row.pid, row.label]), rows.map((row) => [row.pid, row.label]));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'probe at 3000: agent false\nprobe at 6000: agent false\ndormant done\njob done: [0]\n');
});

test('job (Node.js): a dormant child busy in synchronous code is refused with the reason, attached once it yields; one nobody asks for wakes by itself', { timeout: 90_000 }, async (t) => {
  const job = await startNodeJob(t, 'dormant:busy:2000:8000,dormant:probe:11500', { LONGREACH_JOB_WAKE: '10' });
  const rows = await waitForRows(job.port, (r) => r.length >= 3);
  const busy = rows.find((r) => r.info.argv.includes('busy'));
  assert.ok(busy, JSON.stringify(rows));
  await waitForOutput(job, 'busy: computing');
  const refused = await attachBatch(busy.target, 'p 1\n');
  assert.notEqual(refused.code, 0, refused.stdout + refused.stderr);
  assert.match(refused.stdout + refused.stderr, /LR_TIMEOUT/);
  assert.match(refused.stdout + refused.stderr, /joined the job dormant .* busy in synchronous code or stuck; try again once it yields/);
  // the open it was asked for reaches it when its loop turns: it wakes then
  await waitForOutput(job, 'busy: done (agent false)');
  const r = await attachBatch(busy.target, 'p process.pid\n', ['--break', `${NODE_WORK}:${tickLine()}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^${busy.pid} {2}\\(number\\)$`, 'm'));
  await waitForOutput(job, 'probe at 11500: agent true');
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

test('job (Node.js): ?pid= of a child busy since before the job was asked for says it has not joined yet; it joins once it yields; one running another program never does', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'other,dormant:busy:300:6000');
  await waitForOutput(job, 'busy: computing');
  const pid = Number(/busy: computing \(pid (\d+)\)/.exec(job.stdout())![1]);
  // this listing wakes the job; the child looks for that only between two turns of its event loop
  assert.deepEqual((await listJob(job.port)).map((row) => row.pid), [job.child.pid]);
  const refused = await attachBatch(`tcp://127.0.0.1:${job.port}?pid=${pid}`, 'p 1\n');
  assert.notEqual(refused.code, 0, refused.stdout + refused.stderr);
  assert.match(refused.stdout + refused.stderr, new RegExp(`LR_TIMEOUT.*process ${pid} belongs to this job but has not joined it: .* busy in one long synchronous call since, or is stuck; try again once it yields`));
  // one that runs another program never joins; a pid outside the job is LR_NO_SUCH_PROCESS too
  const other = Number(/^other (\d+)$/m.exec(job.stdout())![1]);
  const never = await attachBatch(`tcp://127.0.0.1:${job.port}?pid=${other}`, 'p 1\n');
  assert.match(never.stdout + never.stderr, new RegExp(`LR_NO_SUCH_PROCESS.*process ${other} belongs to this job but runs sleep, which does not join it`));
  const outside = await attachBatch(`tcp://127.0.0.1:${job.port}?pid=${process.pid}`, 'p 1\n');
  assert.match(outside.stdout + outside.stderr, /LR_NO_SUCH_PROCESS/);
  await waitForOutput(job, 'busy: done');
  await waitForRows(job.port, (rows) => rows.some((row) => row.pid === pid), 20_000);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

test('job (Node.js): LONGREACH_JOB_WAKE=0 in the root\'s environment makes a child start its agent worker when it joins', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'dormant:probe:3000', { LONGREACH_JOB_WAKE: '0' });
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  assert.deepEqual(rows.map((r) => r.label), ['', 'dormant.mjs'], JSON.stringify(rows));
  await waitForOutput(job, 'probe at 3000: agent true');
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

test('job session (Node.js): attaching to the whole job while a dormant child is busy starts with the root; the child joins when it yields and stops', { timeout: 150_000 }, async (t) => {
  const job = await startNodeJob(t, 'dormant:busy:5000:20000');
  // the listing wakes the job: the child joins dormant before its busy spell
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  const [root, child] = [rows[0]!, rows[1]!];
  assert.ok(!job.stdout().includes('busy: computing'), 'the child went busy before it joined: the test needs a later start');
  await waitForOutput(job, 'busy: computing');
  const script = 'threads\nprocesses\nwait\np process.pid\nprocesses\n';
  const r = await runCli(['attach', `tcp://127.0.0.1:${job.port}`, '--secret-env', 'LR_JOB_SECRET', '--batch', '-', '--timeout', '60', '--break', `${NODE_WORK}:${tickLine()}`], { input: script, env: JOB_SECRET_ENV, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // a job session, not the root's alone: the root's threads are named by process, the busy child is on its way
  assert.match(r.stdout, new RegExp(`\\(longreach\\) threads\n +1 +pid ${root.pid}: main\n`), r.stdout);
  assert.doesNotMatch(r.stdout, /one process \(not a job\)/);
  assert.match(r.stdout, new RegExp(`longreach: pid ${child.pid} dormant\\.mjs joined the job dormant and is busy in synchronous code; it joins this session when it yields`), r.stdout);
  // once it yields it joins, gets its breakpoints and stops there
  assert.match(r.stdout, new RegExp(`Stopped at breakpoint 1 in thread pid ${child.pid} dormant\\.mjs: main \\(\\d+\\)`), r.stdout);
  assert.match(r.stdout, new RegExp(`^${child.pid} {2}\\(number\\)$`, 'm'), r.stdout);
  assert.match(r.stdout, new RegExp(`^${child.pid} +dormant\\.mjs +stopped in thread \\d+ \\(current\\)$`, 'm'), r.stdout);
  assert.ok(job.stdout().includes('busy: done'), job.stdout());
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

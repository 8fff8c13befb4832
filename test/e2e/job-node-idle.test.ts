// A Node.js job with nobody debugging it (docs/protocol.md 5.3): a child that has not called the agent joins the job
// only once the job is awake, i.e. once a client has asked for it (before that it has loaded nothing but the hook and
// looks for the job's `awake` file now and then), so in a job nobody asks for no child ever joins, however long it
// lives. The first listing wakes the job (the gateway makes the `awake` file) and waits for the children that join
// because of it, so it shows them; so does a `?pid=` selection of a child that had not joined yet. A child that joins
// after a client attached to the whole job is adopted by that session and stops at its breakpoints. The job's output
// and exit codes are those of the plain run.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { attachBatch, listJob, waitForRows, type Job } from '../helpers/job.js';
import { childrenOf, NODE_WORK, plainNodeRun, procOf, startNodeJob, tickLine } from '../helpers/node-job.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A job whose gateway logs (LONGREACH_LOG=agent) to a file of the test's: what joined, and when. */
async function loggedJob(t: TestContext, kinds: string): Promise<{ job: Job; joined: () => string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'lr-node-idle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'log');
  const job = await startNodeJob(t, kinds, { LONGREACH_LOG: 'agent', LONGREACH_LOG_FILE: file });
  const joined = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => /job: process \d+ .*joined/.test(l)) : []);
  return { job, joined };
}

/** The root's only child once it has started (bounded). */
async function onlyChild(job: Job): Promise<number> {
  const deadline = Date.now() + 20_000;
  let kids = childrenOf(job.child.pid!);
  while (kids.length !== 1 && Date.now() < deadline) {
    await sleep(50);
    kids = childrenOf(job.child.pid!);
  }
  assert.equal(kids.length, 1, `the root's children: ${kids.join(', ')}`);
  return kids[0]!;
}

/** The job's `awake` file, next to the gateway's socket named in a child's LONGREACH_JOB. */
async function awakeFile(childPid: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  let job = procOf(childPid).environ.get('LONGREACH_JOB');
  for (; !job && Date.now() < deadline; job = procOf(childPid).environ.get('LONGREACH_JOB')) await sleep(20); // (still being exec'd)
  assert.ok(job, `no LONGREACH_JOB in ${childPid}'s environment`);
  return join(dirname((JSON.parse(job) as { socket: string }).socket), 'awake');
}

test('job (Node.js), nobody asked: no child joins, however long it lives; the first listing wakes the job and shows the child', { timeout: 60_000 }, async (t) => {
  const { job, joined } = await loggedJob(t, 'short,fork');
  while (!job.stdout().includes('short done')) await sleep(50);
  const fork = await onlyChild(job);
  const awake = await awakeFile(fork);
  await sleep(1500); // well past the second after which a child used to join
  assert.deepEqual(joined(), [], 'nobody asked for the job, yet a process joined it');
  assert.equal(existsSync(awake), false, `${awake} exists before anyone asked for the job`);
  // a listing wakes the job, and waits a little for the children that join because of it (on a loaded machine a
  // child may take longer than that wait: then the next listing shows it; the ?pid= test below waits for its child)
  const first = await listJob(job.port);
  assert.ok(existsSync(awake), `no ${awake} after a listing`);
  assert.equal(first[0]?.pid, job.child.pid, JSON.stringify(first));
  const rows = await waitForRows(job.port, (r) => r.length >= 2, 20_000);
  assert.deepEqual(rows.map((r) => [r.pid, r.label]), [[job.child.pid, ''], [fork, 'fork']], JSON.stringify(rows));
  assert.equal(joined().length, 1, joined().join('\n'));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'short: agent false\nshort done\nfork done\njob done: [3,0]\n');
  const plain = plainNodeRun('short,fork');
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(job.stdout(), plain.stdout);
  assert.equal(job.stderr(), plain.stderr);
});

test('job (Node.js), nobody asked: ?pid= of a child that has not joined yet waits for it to join, and it stops there', { timeout: 60_000 }, async (t) => {
  const { job, joined } = await loggedJob(t, 'fork');
  const fork = await onlyChild(job);
  const awake = await awakeFile(fork);
  await sleep(1500);
  assert.deepEqual(joined(), [], 'nobody asked for the job, yet a process joined it');
  assert.equal(existsSync(awake), false);
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}?pid=${fork}`, 'p process.pid\n', ['--break', `${NODE_WORK}:${tickLine()}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Stopped at breakpoint 1 in thread main \(1\)/);
  assert.match(r.stdout, new RegExp(`^${fork} {2}\\(number\\)$`, 'm'));
  assert.ok(existsSync(awake));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'fork done\njob done: [0]\n');
});

test('job session (Node.js): a child that joins after the client attached is adopted and stops at the breakpoint', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'fork');
  // attach at once: the child has usually not joined yet (the attach wakes the job; it joins as it looks next)
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np name\np process.pid\n', ['--break', `${NODE_WORK}:${tickLine()}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const m = /Stopped at breakpoint(?: 1)? in thread pid (\d+) fork: main/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.match(r.stdout, /^"fork" {2}\(string\)$/m);
  assert.match(r.stdout, new RegExp(`^${m[1]} {2}\\(number\\)$`, 'm'));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

// A Node.js job with nobody debugging it (docs/protocol.md 5.3): a child joins the job only once it has run for a
// second (before that it has loaded nothing but the register hook), so a short-lived child never starts the agent;
// a longer-lived one is listed once it joined; a child that joins after a client attached to the whole job is
// adopted by that session and stops at its breakpoints. The job's output and exit codes are those of the plain run.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachBatch, waitForRows } from '../helpers/job.js';
import { NODE_WORK, plainNodeRun, startNodeJob, tickLine } from '../helpers/node-job.js';

test('job (Node.js), nobody attached: a short-lived child never starts the agent; a longer one joins; output and exit codes unchanged', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'short,fork');
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  assert.deepEqual(rows.map((r) => r.label), ['', 'fork'], JSON.stringify(rows));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'short: agent false\nshort done\nfork done\njob done: [3,0]\n');
  const plain = plainNodeRun('short,fork');
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(job.stdout(), plain.stdout);
  assert.equal(job.stderr(), plain.stderr);
});

test('job session (Node.js): a child that joins after the client attached is adopted and stops at the breakpoint', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'fork');
  // attach at once: the child is usually still in its first second, not yet a member
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np name\np process.pid\n', ['--break', `${NODE_WORK}:${tickLine()}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const m = /Stopped at breakpoint(?: 1)? in thread pid (\d+) fork: main/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.match(r.stdout, /^"fork" {2}\(string\)$/m);
  assert.match(r.stdout, new RegExp(`^${m[1]} {2}\\(number\\)$`, 'm'));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

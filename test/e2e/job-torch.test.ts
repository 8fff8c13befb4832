// Whole jobs with PyTorch for real (Debian's python3-torch on /usr/bin/python3, CPU, gloo), through the built CLI:
// a DataLoader's fork workers are listed as `DataLoader worker N` and stop in Dataset.__getitem__ through `?pid=`;
// a `torch.distributed.run --nproc_per_node 2` job is listed with rank labels, one rank stops while the other waits
// for it in an all_reduce, and after detaching the job finishes with the right result.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { attachBatch, startJob, waitForRows } from '../helpers/job.js';

const TORCH_PYTHON = process.env.LONGREACH_TORCH_PYTHON || '/usr/bin/python3';

test('torch DataLoader(num_workers=2): the workers are labelled and one stops in __getitem__', { timeout: 120_000 }, async (t) => {
  const job = await startJob(t, TORCH_PYTHON, 'test/fixtures/python/torch/loader.py');
  const rows = await waitForRows(job.port, (r) => r.filter((row) => row.label.startsWith('DataLoader worker')).length === 2);
  assert.deepEqual(rows.map((r) => r.label), ['', 'DataLoader worker 0', 'DataLoader worker 1']);
  assert.ok(rows.slice(1).every((r) => r.ppid === rows[0]!.pid));
  const worker = rows[2]!;
  const r = await attachBatch(worker.target, 'p torch.utils.data.get_worker_info().id\np index >= 0\n', ['--break', 'test/fixtures/python/torch/loader.py:19']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /> test\/fixtures\/python\/torch\/loader\.py:19 in Slow\.__getitem__\(\)/);
  assert.match(r.stdout, /\(longreach\) p torch\.utils\.data\.get_worker_info\(\)\.id\n(?:.*\n)*?1 {2}\(int\)/);
  assert.match(r.stdout, /^True {2}\(bool\)$/m);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'loader done: True\n');
});

test('torchrun --nproc_per_node 2: ranks labelled, one rank stopped while the other waits, detach, right result', { timeout: 150_000 }, async (t) => {
  const logs = mkdtempSync(join(tmpdir(), 'lr-torchrun-'));
  t.after(() => rmSync(logs, { recursive: true, force: true }));
  const job = await startJob(t, TORCH_PYTHON, '-m', ['torch.distributed.run', '--nproc_per_node', '2', '--redirects', '2', '--tee', '1', '--log_dir', logs, 'test/fixtures/python/torch/ddp.py']);
  const rows = await waitForRows(job.port, (r) => r.filter((row) => row.label.startsWith('rank ')).length === 2);
  assert.deepEqual(rows.map((r) => r.label), ['', 'rank 0/2', 'rank 1/2']);
  const [root, rank0, rank1] = rows as [typeof rows[0], typeof rows[0], typeof rows[0]];
  assert.ok(root.info.argv[0]!.endsWith('run.py'), JSON.stringify(root.info.argv));
  assert.ok(rank0.ppid === root.pid && rank1.ppid === root.pid);

  // rank 1 stops before its all_reduce; while stopped it drops a marker with its step and evaluates for 4 s
  const marker = `${job.stopFile}.stopped`;
  const session = attachBatch(rank1.target, `p open(${JSON.stringify(marker)}, "w").write(str(n))\np __import__("time").sleep(4)\np n\n`, ['--break', 'test/fixtures/python/torch/ddp.py:15']);
  const deadline = Date.now() + 60_000;
  while (!existsSync(marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const stoppedAt = Number(readFileSync(marker, 'utf8'));
  // rank 0 waits for rank 1 in that same step: it stays there
  const progress = `${job.stopFile}.rank0`;
  await new Promise((r) => setTimeout(r, 500));
  const first = Number(readFileSync(progress, 'utf8'));
  await new Promise((r) => setTimeout(r, 1500));
  const second = Number(readFileSync(progress, 'utf8'));
  assert.equal(first, stoppedAt);
  assert.equal(second, stoppedAt);

  const r = await session;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /> test\/fixtures\/python\/torch\/ddp\.py:15 in step\(\)/);
  assert.match(r.stdout, /Detached; the program keeps running\./);
  // detached, rank 1 runs again and both ranks move on
  const moveDeadline = Date.now() + 30_000;
  while (Number(readFileSync(progress, 'utf8')) === stoppedAt && Date.now() < moveDeadline) await new Promise((res) => setTimeout(res, 100));
  assert.ok(Number(readFileSync(progress, 'utf8')) > stoppedAt, 'rank 0 moved on after rank 1 was detached');
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.match(job.stdout(), /^\[default0\]:result 3$/m);
});

test('torch DataLoader, attached to the whole job: the breakpoint in __getitem__ stops in a worker', { timeout: 120_000 }, async (t) => {
  const job = await startJob(t, TORCH_PYTHON, 'test/fixtures/python/torch/loader.py');
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np torch.utils.data.get_worker_info().num_workers\nprocesses\n', ['--break', 'test/fixtures/python/torch/loader.py:19']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Stopped at (a )?breakpoint( 1)? in thread pid \d+ DataLoader worker [01]: MainThread/);
  assert.match(r.stdout, /^2 {2}\(int\)$/m);
  assert.match(r.stdout, /DataLoader worker 0 +(stopped|running)/);
  assert.match(r.stdout, /DataLoader worker 1 +(stopped|running)/);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'loader done: True\n');
});

test('torch DataLoader, a new loader each epoch: a worker that joined before torch named it stops under its label', { timeout: 120_000 }, async (t) => {
  const job = await startJob(t, TORCH_PYTHON, 'test/fixtures/python/torch/loader.py', ['epochs']);
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\ncontinue\ncontinue\ncontinue\n', ['--break', 'test/fixtures/python/torch/loader.py:19']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // both workers of an epoch stop; the one whose stop waited was listed (at the first stop) before torch set it up
  const stops = [...r.stdout.matchAll(/^Stopped at (?:a )?breakpoint(?: 1)? in thread pid \d+(.*): MainThread/gm)].map((m) => m[1]);
  assert.ok(stops.length >= 3, r.stdout); // (a stop may come in while a continue's own is shown: 3 to 5 of them)
  for (const label of stops) assert.match(label!, /^ DataLoader worker [01]$/, r.stdout);
  assert.deepEqual(new Set(stops), new Set([' DataLoader worker 0', ' DataLoader worker 1']), r.stdout);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'loader done: True\n');
});

test('torchrun attached as a whole: each rank stops at the breakpoint in turn, labelled, and the job finishes', { timeout: 150_000 }, async (t) => {
  const logs = mkdtempSync(join(tmpdir(), 'lr-torchrun-'));
  t.after(() => rmSync(logs, { recursive: true, force: true }));
  const job = await startJob(t, TORCH_PYTHON, '-m', ['torch.distributed.run', '--nproc_per_node', '2', '--redirects', '2', '--tee', '1', '--log_dir', logs, 'test/fixtures/python/torch/ddp.py']);
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np os.environ["RANK"]\nprocesses\ndelete 1\ncontinue\np os.environ["RANK"]\n', ['--break', 'test/fixtures/python/torch/ddp.py:15']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const stops = [...r.stdout.matchAll(/^Stopped at (?:a )?breakpoint(?: 1)? in thread pid \d+ (rank [01]\/2): MainThread/gm)].map((m) => m[1]);
  assert.deepEqual([...stops].sort(), ['rank 0/2', 'rank 1/2'], r.stdout);
  const ranks = [...r.stdout.matchAll(/^'([01])' {2}\(str\)$/gm)].map((m) => m[1]);
  assert.deepEqual(ranks, stops.map((s) => s!.slice(5, 6)));
  assert.match(r.stdout, /rank [01]\/2 +stopped in thread \d+ \(waiting\)/);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.match(job.stdout(), /^\[default0\]:result 3$/m);
});

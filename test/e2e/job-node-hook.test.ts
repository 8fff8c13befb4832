// The hook a Node.js job's children load before their own code (docs/protocol.md 5.3; src/agent-node/job/hook.cts,
// `--require` in NODE_OPTIONS where require(esm) exists): a CommonJS child started while a client is attached to
// the whole job is held and stops on its very first line (the synchronous join); with nobody attached it joins
// once a client has asked for the job (a listing: the hook looks for the job's `awake` file) and a worker thread it
// starts never joins by itself; a grandchild started through a shell (child_process.exec) joins under its parent;
// the inherited hook and an explicit `--import longreach/register` (another copy) start one agent. Neither the
// secret nor the job's token is on a command line or in NODE_OPTIONS.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { attachBatch, JOB_SECRET_ENV, listJob, waitForRows, type JobRow } from '../helpers/job.js';
import { assertHookOptions, childrenOf, NODE_WORK, plainNodeRun, procOf, startNodeJob, tickLine } from '../helpers/node-job.js';

const CJS = 'test/fixtures/node/job/cjs-child.cjs';

function cjsLine(marker: string): number {
  return readFileSync(join(ROOT, CJS), 'utf8').split('\n').findIndex((l) => l.includes(`// @${marker}`)) + 1;
}

/** Each row's command line holds neither the secret nor the job's token; a child's NODE_OPTIONS names the hook. */
function assertNoSecrets(rows: JobRow[], rootPid: number): void {
  const token = (JSON.parse(procOf(rows.find((r) => r.pid !== rootPid)!.pid).environ.get('LONGREACH_JOB')!) as { token: string }).token;
  for (const row of rows) {
    const proc = procOf(row.pid);
    assert.ok(!proc.cmdline.includes(token) && !proc.cmdline.includes(JOB_SECRET_ENV.LR_JOB_SECRET), `${row.pid}: ${proc.cmdline}`);
    if (row.pid !== rootPid) assertHookOptions(proc.environ.get('NODE_OPTIONS') ?? '', [token, JOB_SECRET_ENV.LR_JOB_SECRET]);
  }
}

test('job session (Node.js): a CommonJS child started after attach is held and stops on its first line', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'later,cjs');
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np process.pid\n', ['--break', `${CJS}:${cjsLine('first')}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const m = /Stopped at breakpoint(?: 1)? in thread pid (\d+) cjs-child\.cjs: main/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.match(r.stdout, new RegExp(`> test/fixtures/node/job/cjs-child\\.cjs:${cjsLine('first')}\\b`));
  assert.match(r.stdout, new RegExp(`^${m[1]} {2}\\(number\\)$`, 'm'));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

test('job session (Node.js): a breakpoint in a file only a child loads is verified once the child has it, the client\'s copy elsewhere', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'cjs');
  await waitForRows(job.port, (r) => r.length >= 2);
  // the client's checkout is not on the agent's machine: the child matches the file by its name; the root never
  // loads it, so only the child can verify the breakpoint
  const clientCopy = `/nonexistent/checkout/${CJS}`;
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\ninfo breakpoints\n', ['--break', `${clientCopy}:${cjsLine('poll')}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // the stop names the client's breakpoint 1 (the child's own id mapped to the root's); said verified once
  assert.match(r.stdout, /Stopped at breakpoint 1 in thread pid \d+ cjs-child\.cjs: main/, r.stdout + job.stderr());
  assert.equal([...r.stdout.matchAll(/^Breakpoint 1 is now verified at /gm)].length, 1, r.stdout);
  const info = /\(longreach\) info breakpoints\n(.*)\n/.exec(r.stdout)?.[1];
  assert.ok(info?.includes(`cjs-child.cjs:${cjsLine('poll')}`), r.stdout);
  assert.doesNotMatch(info!, /not verified/, r.stdout);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

test('job (Node.js), nobody attached: a CommonJS child joins once the job is listed, its worker thread never does; ?pid= stops it', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'cjs');
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  assert.deepEqual(rows.map((r) => r.label), ['', 'cjs-child.cjs'], JSON.stringify(rows));
  assertNoSecrets(rows, job.child.pid!);
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the job is awake: a worker thread would have joined by now
  assert.deepEqual((await listJob(job.port)).map((r) => r.pid), rows.map((r) => r.pid));
  const child = rows[1]!;
  const r = await attachBatch(child.target, 'p process.pid\n', ['--break', `${CJS}:${cjsLine('poll')}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Stopped at breakpoint 1 in thread main \(1\)/);
  assert.match(r.stdout, new RegExp(`^${child.pid} {2}\\(number\\)$`, 'm'));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), plainNodeRun('cjs').stdout);
});

test('job (Node.js): a grandchild started through a shell (exec) joins under its parent and stops through ?pid=', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'grand');
  const rows = await waitForRows(job.port, (r) => r.length >= 3);
  assert.equal(rows.length, 3, JSON.stringify(rows));
  const parent = rows.find((r) => r.label === 'job.mjs');
  const grandchild = rows.find((r) => r.label === 'work.mjs');
  assert.ok(parent && grandchild, JSON.stringify(rows));
  // the root's child, or the shell's where the shell does not exec the command line
  assert.ok(parent.ppid === job.child.pid || childrenOf(job.child.pid!).includes(parent.ppid!), JSON.stringify(rows));
  assert.equal(grandchild.ppid, parent.pid);
  assertNoSecrets(rows, job.child.pid!);
  const r = await attachBatch(grandchild.target, 'p process.pid\n', ['--break', `${NODE_WORK}:${tickLine()}`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Stopped at breakpoint 1 in thread main \(1\)/);
  assert.match(r.stdout, new RegExp(`^${grandchild.pid} {2}\\(number\\)$`, 'm'));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), plainNodeRun('grand').stdout);
});

test('job (Node.js): an inherited hook and an explicit --import of another copy of longreach/register join once', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'fork');
  const [, fork] = await waitForRows(job.port, (r) => r.length >= 2);
  const env = procOf(fork!.pid).environ;
  // a second copy of the agent (under the checkout, so that it finds the same node_modules)
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const copy = mkdtempSync(join(ROOT, '.tmp', 'lr-copy-'));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(join(ROOT, 'dist', 'src'), join(copy, 'dist', 'src'), { recursive: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
  writeFileSync(join(copy, 'package.json'), '{"type": "module"}\n');
  // `node -e`: no label, so a second join under the same pid would be listed as "exec'd" (the gateway's sign of an exec)
  const program = "const t = setInterval(() => { if (require('node:fs').existsSync(process.env.JOB_STOP_FILE)) clearInterval(t); }, 100);";
  const child = spawn(process.execPath, ['--import', join(copy, 'dist/src/agent-node/register.js'), '-e', program], {
    env: { ...process.env, LONGREACH_JOB: env.get('LONGREACH_JOB'), NODE_OPTIONS: env.get('NODE_OPTIONS'), JOB_STOP_FILE: job.stopFile },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.after(() => child.kill('SIGKILL'));
  const rows = await waitForRows(job.port, (r) => r.some((row) => row.pid === child.pid));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the job is awake: both copies would have joined by now
  const mine = (await listJob(job.port)).filter((r) => r.pid === child.pid);
  assert.deepEqual(mine.map((r) => r.label), [''], JSON.stringify(rows));
  job.stop();
  assert.equal(await exited, 0);
  assert.equal(await job.exited, 0, job.stderr());
});

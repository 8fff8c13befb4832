// Attaching to a job's root attaches to the whole job (docs/protocol.md 5.3, Python agent), through the built CLI:
// breakpoints apply in every process, present and future; stops from several processes are queued and each is
// reached in turn; `processes` and `process PID`; a child's output is prefixed with its process.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachBatch, jobEnd, jobInterpreters, startJob, waitForRows } from '../helpers/job.js';

const JOB = 'test/fixtures/python/job/job.py';
const WORK = 'test/fixtures/python/job/work.py';

for (const py of jobInterpreters()) {
  test(`job session (${py.label}): one breakpoint stops in every process; stops queue; processes / process PID`, { timeout: 120_000 }, async (t) => {
    const job = await startJob(t, py.exe, JOB, ['fork,script,mp-spawn']);
    const rows = await waitForRows(job.port, (r) => r.length >= 4);
    const pids = rows.slice(1).map((r) => r.pid);
    const script = [
      'p __import__("time").sleep(0.5)', // by then every child is at the breakpoint too
      'processes',
      ...pids.flatMap((pid) => [`process ${pid}`, 'p here']),
      'delete 1',
      'p print("hello from", name)',
      'continue', 'p name', 'continue', 'p name',
    ].join('\n') + '\n';
    const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, script, ['--break', `${WORK}:10`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // the first `processes`: the root runs, one process is current and the two others' stops wait
    const table = /\(longreach\) processes\n((?:\d+ .*\n)+)/.exec(r.stdout)![1]!;
    assert.match(table, new RegExp(`^${rows[0]!.pid} +- +running$`, 'm'));
    assert.equal((table.match(/stopped in thread \d+ \(current\)/g) ?? []).length, 1, table);
    assert.equal((table.match(/stopped in thread \d+ \(waiting\)/g) ?? []).length, 2, table);
    assert.match(table, / mp-spawn /);
    // process PID makes each stopped process current in turn
    const heres = [...r.stdout.matchAll(/^(\d+) {2}\(int\)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(heres, pids, r.stdout);
    // a child's output carries its process
    assert.match(r.stdout, new RegExp(`\\[program\\] \\[pid ${pids[2]}( [^\\]]*)?\\] hello from`));
    // the stops that waited are reached in turn: every process stopped, and no stop was lost
    const stops = [...r.stdout.matchAll(/^Stopped at (?:a )?breakpoint(?: 1)? in thread pid (\d+)(?: [^:]*)?: MainThread \(\d+\)$/gm)];
    assert.equal(stops.length, 3, r.stdout);
    const names = [...r.stdout.matchAll(/^'([a-z-]+)' {2}\(str\)$/gm)].map((m) => m[1]);
    assert.equal(names.length, 2, r.stdout);
    // after `process PIDS[2]`, continuing reaches the two stops that waited (the others')
    assert.deepEqual(stops.slice(1).map((m) => Number(m[1])).sort(), pids.slice(0, 2).sort(), r.stdout);
    assert.match(r.stdout, /Detached; the program keeps running\./);
    assert.equal(await jobEnd(job), 0, job.stderr());
    // (what the evaluated print() wrote went to that process's stdout too)
    assert.deepEqual(job.stdout().split('\n').filter((l) => l && !l.startsWith('hello from')).sort(), ['fork done', 'job done: [0, 0, 0]', 'mp-spawn done', 'script done']);
  });
}

test('job session: a child\'s output carries its label from the start (before any stop or threads request)', { timeout: 60_000 }, async (t) => {
  const job = await startJob(t, jobInterpreters()[0]!.exe, JOB, ['ranked']);
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  const child = rows.find((r) => r.label === 'rank 1/2');
  assert.ok(child, JSON.stringify(rows));
  // `wait` for a stop that never comes: the session only shows the program's output meanwhile
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\n', ['--timeout', '3']);
  assert.match(r.stdout, new RegExp(`^\\[program\\] \\[pid ${child.pid} rank 1/2\\] ranked tick$`, 'm'), r.stdout);
  assert.doesNotMatch(r.stdout, new RegExp(`\\[pid ${child.pid}\\] `), r.stdout);
  assert.equal(await jobEnd(job), 0, job.stderr());
});

test('job session: a process that starts after attach gets the breakpoints and stops', { timeout: 60_000 }, async (t) => {
  const job = await startJob(t, jobInterpreters()[0]!.exe, JOB, ['later,script']);
  // and `process` without a pid, with one that is not a number, not in the job, or of a process that runs; `thread`
  // of a thread of a process that runs (the root's) is refused too, and the stop stays current
  const script = `wait\np name\nprocess\nprocess abc\nprocess 999999999\nprocess ${job.child.pid}\nthread 1\np name\n`;
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, script, ['--break', `${WORK}:10`]);
  assert.match(r.stdout, /Stopped at (a )?breakpoint( 1)? in thread pid \d+: MainThread \(\d+\)/);
  assert.equal([...r.stdout.matchAll(/^'script' {2}\(str\)$/gm)].length, 2, r.stdout);
  const errors = (r.stdout + r.stderr).split('\n').filter((line) => line.startsWith('error'));
  assert.deepEqual(errors, [
    'error [LR_BAD_REQUEST]: usage: process PID (processes lists them)',
    'error [LR_BAD_REQUEST]: expected a number, got "abc"',
    'error [LR_BAD_REQUEST]: no process 999999999 in this session (processes lists them)',
    `error [LR_NOT_STOPPED]: process ${job.child.pid} is running; it becomes selectable when it stops (a breakpoint, or pause with thread 1 current)`,
    `error [LR_NOT_STOPPED]: thread 1 belongs to process ${job.child.pid}, which is running; it becomes selectable when it stops (processes shows which are stopped)`,
  ], r.stdout + r.stderr);
  assert.equal(await jobEnd(job), 0, job.stderr());
});

// every interpreter: on PyPy the held thread must be adopted by the session, or nothing traces the module it imports
for (const py of jobInterpreters()) {
  test(`job session (${py.label}): a short-lived process started after attach is held until its breakpoints are set`, { timeout: 60_000 }, async (t) => {
    const job = await startJob(t, py.exe, JOB, ['later,once']);
    const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np name\n', ['--break', `${WORK}:10`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^'once' {2}\(str\)$/m);
    assert.equal(await jobEnd(job), 0, job.stderr());
  });
}

for (const py of jobInterpreters()) {
  // a forked child is held in the at-fork hook on CPython; PyPy kills a child that starts a thread there, so its
  // child is held at its first call once os.fork() has returned (here: the call of the function with the breakpoint)
  test(`job session (${py.label}): a short-lived forked child started after attach is held until its breakpoints are set`, { timeout: 60_000 }, async (t) => {
    const job = await startJob(t, py.exe, JOB, ['later,fork-once']);
    const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np name\n', ['--break', `${WORK}:10`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^'fork-once' {2}\(str\)$/m, r.stdout);
    assert.equal(await jobEnd(job), 0, job.stderr());
  });
}

test('job session: a process that execs after attach stops in its new program; one that dies is reported', { timeout: 60_000 }, async (t) => {
  const job = await startJob(t, jobInterpreters()[0]!.exe, JOB, ['later,exec,script']);
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np name\np (here, __import__("os").kill(here, 9))\nprocesses\n', ['--break', `${WORK}:10:name == "exec"`]);
  assert.match(r.stdout, /^'exec' {2}\(str\)$/m, r.stdout);
  // the new program says what it is (the pid ran another program of the job before), as the listing does
  const pid = /Stopped at (?:a )?breakpoint(?: 1)? in thread pid (\d+) exec'd: MainThread/.exec(r.stdout)?.[1];
  assert.ok(pid, r.stdout);
  // killed while stopped: the request it was answering fails, the session says so and goes on with the others
  assert.match(r.stdout, new RegExp(`error \\[LR_CLOSED\\]: pid ${pid} exec'd ended before answering evaluate`));
  assert.match(r.stdout, new RegExp(`longreach: pid ${pid} exec'd left the job session`));
  const table = /\(longreach\) processes\n(?:\[agent\].*\n)?((?:\d+ .*\n)+)/.exec(r.stdout)?.[1];
  assert.ok(table, r.stdout);
  assert.doesNotMatch(table, new RegExp(`^${pid} `, 'm'));
  assert.equal(table.trim().split('\n').length, 2, table);
  assert.equal(await jobEnd(job), 0, job.stderr());
});

test("job session: ?pid= of the root attaches to the root alone, not its job", { timeout: 60_000 }, async (t) => {
  const job = await startJob(t, jobInterpreters()[0]!.exe, JOB, ['script']);
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  const r = await attachBatch(rows[0]!.target, 'threads\nprocesses\n');
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\(longreach\) threads\n +\d+ +MainThread\n\(longreach\)/);
  assert.doesNotMatch(r.stdout, /pid \d+/);
  assert.match(r.stdout, /one process \(not a job\)/);
  assert.equal(await jobEnd(job), 0, job.stderr());
});

// as with torchrun on a remote machine: the client's copy of the training script is at a path the job's machine does
// not have, and only the ranks import it (the root never does): the root cannot verify the breakpoint, the ranks do
// (in their answer to setBreakpoints, or, ranks that start after attach, to the breakpoints they are brought; and for
// a module a rank imports later, in its `breakpoint` event), and the client hears it once, with the root's ids
const RANK_CASES = [...jobInterpreters().map((py) => ({ py, later: false })), { py: jobInterpreters()[0]!, later: true }];
for (const { py, later } of RANK_CASES) {
  // (not on PyPy: there a rank that ran before the session does not report a module it imports afterwards, with
  // ?pid= too, so that breakpoint is never verified in any process)
  const imports = !py.label.startsWith('PyPy');
  test(`job session (${py.label}${later ? ', ranks start after attach' : ''}): a breakpoint only children can resolve is verified when one does${imports ? ', also in a module imported later' : ''}`, { timeout: 60_000 }, async (t) => {
    const job = await startJob(t, py.exe, 'test/fixtures/python/job/ranks.py', later ? ['later'] : []);
    if (!later) await waitForRows(job.port, (r) => r.filter((row) => /^rank [01]\/2$/.test(row.label)).length === 2);
    const script = [
      'wait',
      'info breakpoints',
      // this rank imports rank_late.py now: its breakpoint is verified then
      ...(imports ? ['p globals().update(LATE=True)', 'continue', 'info breakpoints'] : []),
      'delete 1', 'delete 2',
    ].join('\n') + '\n';
    const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, script, [
      '--break', '/nonexistent/checkout/rank_train.py:11:rank == 0',
      '--break', '/nonexistent/checkout/rank_late.py:5',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // a stop names the client's breakpoint (the rank's own id mapped to the root's)
    const stops = [...r.stdout.matchAll(/^Stopped at breakpoint (\d) in thread pid \d+ rank 0\/2: MainThread \(\d+\)\n> .*\/(rank_\w+\.py):(\d+) /gm)].map((m) => `${m[1]} ${m[2]}:${m[3]}`);
    assert.deepEqual(stops, ['1 rank_train.py:11', ...(imports ? ['2 rank_late.py:5'] : [])], r.stdout);
    const infos = [...r.stdout.matchAll(/\(longreach\) info breakpoints\n((?:.*\n)*?)Exceptions:/g)].map((m) => m[1]!);
    assert.equal(infos.length, imports ? 2 : 1, r.stdout);
    // at the first stop breakpoint 1 is verified (the ranks verified it; the root could not), 2 not yet
    assert.match(infos[0]!, /^Breakpoint 1 at \/nonexistent\/checkout\/rank_train\.py:11 if rank == 0, hit 1 time$/m, r.stdout);
    assert.match(infos[0]!, /^Breakpoint 2 at \/nonexistent\/checkout\/rank_late\.py:5 \(not verified yet: no file named rank_late\.py is loaded/m, r.stdout);
    // said once per breakpoint, not once per process that verified it (1 may come verified in the root's answer)
    assert.ok([...r.stdout.matchAll(/^Breakpoint 1 is now verified at \/nonexistent\/checkout\/rank_train\.py:11$/gm)].length <= 1, r.stdout);
    assert.doesNotMatch(r.stdout, /is not verified/, r.stdout);
    if (imports) {
      // the rank imported rank_late.py and said so: verified (said once), and it stopped there
      assert.match(infos[1]!, /^Breakpoint 1 at \/nonexistent\/checkout\/rank_train\.py:11 if rank == 0, hit 1 time$/m, r.stdout);
      assert.match(infos[1]!, /^Breakpoint 2 at \/nonexistent\/checkout\/rank_late\.py:5, hit 1 time$/m, r.stdout);
      assert.equal([...r.stdout.matchAll(/^Breakpoint 2 is now verified at \/nonexistent\/checkout\/rank_late\.py:5$/gm)].length, 1, r.stdout);
    }
    assert.equal(await jobEnd(job), 0, job.stderr());
    assert.match(job.stdout(), /^ranks done: \[0, 0\]$/m);
  });
}

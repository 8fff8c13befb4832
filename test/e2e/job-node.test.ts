// Whole jobs with the Node.js agent (docs/protocol.md 5.3), through the built CLI: under `node --import
// longreach/register`, a child_process.fork child, a cluster worker and a spawn of node with a script join the
// root's job. Listed as a tree with labels; `?pid=` of each stops at a breakpoint through the root's one port;
// attaching to the root debugs the job (a stop in each process with its pid and label, processes / process PID);
// a child started after attach is held until its breakpoints are set; a child killed while stopped is reported
// and the session goes on; LONGREACH_SUBPROCESS=0 leaves children alone; neither the secret nor the job token is
// on any command line or in NODE_OPTIONS (which names the hook, hook.cjs where require(esm) exists); after
// detaching the job's output is what it is without a debugger.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { startStdioBridge } from '../helpers/dap-bridge.js';
import { ROOT } from '../helpers/paths.js';
import { assertNeverJoins, attachBatch, checkStartedBeforeAgent, groupEnded, inBatches, JOB_SECRET_ENV, jobInterpreters, listJob, printedPids, startJob, waitForRows } from '../helpers/job.js';
import { HUB_SECRET, startHubProcess, startNodeDialer } from './hub-helpers.js';
import { assertHookOptions, childrenOf, listeningSockets, NODE_JOB, NODE_WORK, plainNodeRun, procOf, startNodeJob, tickLine } from '../helpers/node-job.js';

const KINDS = 'fork,cluster,spawn';
const LABELS: Record<string, string> = { fork: 'fork', cluster: 'cluster worker 1', spawn: 'work.mjs' };
const BREAK = () => ['--break', `${NODE_WORK}:${tickLine()}`];

test('job (Node.js): fork, cluster and spawn children are listed with labels and stop at a breakpoint through ?pid=', { timeout: 120_000 }, async (t) => {
  const job = await startNodeJob(t, KINDS);
  const rows = await waitForRows(job.port, (r) => r.length >= 4);
  assert.equal(rows.length, 4, JSON.stringify(rows));
  const root = rows[0]!;
  assert.equal(root.pid, job.child.pid);
  assert.equal(root.target, `tcp://127.0.0.1:${job.port}?pid=${root.pid}`);
  assert.deepEqual(root.info.argv, [join(ROOT, NODE_JOB), KINDS]);
  assert.deepEqual(rows.slice(1).map((r) => r.label).sort(), Object.values(LABELS).sort());
  for (const row of rows.slice(1)) assert.equal(row.ppid, root.pid, JSON.stringify(row));

  // neither the secret nor the job's token is on any process's command line; the secret is not even inherited
  const token = (JSON.parse(procOf(rows[1]!.pid).environ.get('LONGREACH_JOB')!) as { token: string }).token;
  assert.match(token, /^[0-9a-f]{64}$/);
  for (const row of rows) {
    const proc = procOf(row.pid);
    assert.ok(!proc.cmdline.includes(token) && !proc.cmdline.includes(JOB_SECRET_ENV.LR_JOB_SECRET), `${row.pid}: ${proc.cmdline}`);
    if (row !== root) {
      assert.ok(![...proc.environ.values()].some((v) => v.includes(JOB_SECRET_ENV.LR_JOB_SECRET)), `the secret reached ${row.pid}'s environment`);
      assertHookOptions(proc.environ.get('NODE_OPTIONS') ?? '', [token, JOB_SECRET_ENV.LR_JOB_SECRET]);
    }
  }

  // the gateway: a private directory only this user can enter, a socket that answers nothing without the token;
  // only the root listens (its server and the gateway), children on nothing at all
  const socketPath = (JSON.parse(procOf(rows[1]!.pid).environ.get('LONGREACH_JOB')!) as { socket: string }).socket;
  assert.equal(statSync(dirname(socketPath)).mode & 0o777, 0o700);
  assert.equal(statSync(socketPath).mode & 0o777, 0o600);
  assert.deepEqual(await helloAnswer(socketPath, 'f'.repeat(64)), { got: '', closedByGateway: true }, 'a wrong token gets nothing');
  assert.deepEqual(listeningSockets(root.pid), { tcp: 1, unix: 1 });
  for (const row of rows.slice(1)) assert.deepEqual(listeningSockets(row.pid), { tcp: 0, unix: 0 }, `${row.label} listens`);

  const seen = await inBatches(rows.slice(1), 3, async (row) => {
    const r = await attachBatch(row.target, 'p name\np process.pid\n', BREAK());
    assert.equal(r.code, 0, `${row.target}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Stopped at breakpoint 1 in thread main \(1\)/);
    assert.match(r.stdout, /> test\/fixtures\/node\/job\/work\.mjs:\d+ in tick\(\)/);
    assert.match(r.stdout, new RegExp(`^${row.pid} {2}\\(number\\)$`, 'm'), `the stop is in process ${row.pid}:\n${r.stdout}`);
    const name = /^"([a-z]+)" {2}\(string\)$/m.exec(r.stdout)?.[1];
    assert.ok(name, r.stdout);
    return { name, label: row.label };
  });
  for (const { name, label } of seen) assert.equal(label, LABELS[name], `${name} is labelled ${label}`);

  // ?pid= of the root: the root alone, not its job
  const alone = await attachBatch(root.target, 'threads\nprocesses\n');
  assert.equal(alone.code, 0, alone.stdout + alone.stderr);
  assert.match(alone.stdout, /\(longreach\) threads\n +1 +main\n\(longreach\)/);
  assert.match(alone.stdout, /one process \(not a job\)/);

  // a pid outside the job
  const other = root.pid + 100000;
  const bad = await runCli(['list', `tcp://127.0.0.1:${job.port}?pid=${other}`, '--secret-env', 'LR_JOB_SECRET'], { env: JOB_SECRET_ENV });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, new RegExp(`LR_NO_SUCH_PROCESS.*no process ${other} .*processes: ${rows.map((r) => r.pid).sort((a, b) => a - b).join(', ')}`));

  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  const plain = plainNodeRun(KINDS);
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(job.stdout(), plain.stdout);
  assert.equal(job.stderr(), plain.stderr);
});

test('job session (Node.js): attaching to the root stops in every child with its pid and label; processes / process PID', { timeout: 120_000 }, async (t) => {
  const job = await startNodeJob(t, KINDS);
  const rows = await waitForRows(job.port, (r) => r.length >= 4);
  const labelOf = new Map(rows.map((r) => [r.pid, r.label]));
  const pids = rows.slice(1).map((r) => r.pid);
  const script = [
    'p (() => { const end = Date.now() + 1000; while (Date.now() < end); return "waited" })()', // the others stop meanwhile
    'processes',
    ...pids.flatMap((pid) => [`process ${pid}`, 'p process.pid']),
    'p console.log("hello from " + process.pid)',
    'delete 1',
    'continue',
    'p process.pid',
    'continue',
    'p process.pid',
  ].join('\n') + '\n';
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, script, BREAK());
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const table = /\(longreach\) processes\n((?:\d+ .*\n)+)/.exec(r.stdout)![1]!;
  assert.match(table, new RegExp(`^${rows[0]!.pid} +- +running$`, 'm'));
  assert.equal((table.match(/stopped in thread \d+ \(current\)/g) ?? []).length, 1, table);
  assert.equal((table.match(/stopped in thread \d+ \(waiting\)/g) ?? []).length, 2, table);
  for (const pid of pids) assert.match(table, new RegExp(`^${pid} +${labelOf.get(pid)} +stopped`, 'm'));
  // process PID makes each stopped process current in turn
  const heres = [...r.stdout.matchAll(/^(\d+) {2}\(number\)$/gm)].map((m) => Number(m[1]));
  assert.deepEqual(heres.slice(0, 3), pids, r.stdout);
  // a child's output carries its process
  assert.match(r.stdout, new RegExp(`\\[program\\] \\[pid ${pids[2]} ${labelOf.get(pids[2]!)!.replace('.', '\\.')}\\] hello from ${pids[2]}`));
  // every stop names its process and label; each process stopped, none was lost
  const stops = [...r.stdout.matchAll(/^Stopped at (?:a )?breakpoint(?: 1)? in thread pid (\d+) ([^:]+): main \(\d+\)$/gm)];
  for (const m of stops) assert.equal(m[2], labelOf.get(Number(m[1])), m[0]);
  assert.equal(stops.length, 3, r.stdout);
  // after `process ${pids[2]}`, continuing reaches the two stops that waited (the others')
  assert.deepEqual(stops.slice(1).map((m) => Number(m[1])).sort(), pids.slice(0, 2).sort(), r.stdout);
  assert.match(r.stdout, /Detached; the program keeps running\./);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  // (what the evaluated console.log() wrote went to that child's stdout, which is the job's)
  assert.equal(job.stdout().split('\n').filter((l) => !l.startsWith('hello from')).join('\n'), plainNodeRun(KINDS).stdout);
});

test('job session (Node.js): next in one process while the others wait loses no stop; thread of a running process is refused', { timeout: 120_000 }, async (t) => {
  const job = await startNodeJob(t, KINDS);
  const rows = await waitForRows(job.port, (r) => r.length >= 4);
  const busy = (ms: number) => `p (() => { const end = Date.now() + ${ms}; while (Date.now() < end); return "waited" })()`;
  const script = [
    busy(1000), // the others stop meanwhile
    'next', // the current process steps; a stop that waited becomes current, the step's stop waits in its turn
    busy(1000),
    'processes',
    'thread 1', // the root's main thread: the root runs
    'p process.pid',
    'delete 1',
    'continue', 'p process.pid', 'continue', 'p process.pid',
  ].join('\n') + '\n';
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, script, BREAK());
  assert.equal(r.code, 1, r.stdout + r.stderr); // (the refused `thread 1`)
  const table = /\(longreach\) processes\n((?:\d+ .*\n)+)/.exec(r.stdout)![1]!;
  assert.match(table, new RegExp(`^${rows[0]!.pid} +- +running$`, 'm'));
  assert.equal((table.match(/stopped in thread \d+ \(current\)/g) ?? []).length, 1, table);
  assert.equal((table.match(/stopped in thread \d+ \(waiting\)/g) ?? []).length, 2, table);
  assert.match(r.stdout, new RegExp(`error \\[LR_NOT_STOPPED\\]: thread 1 belongs to process ${rows[0]!.pid}, which is running`));
  // the current stop held, and each stop that waited became current in turn: three children, each once
  const pids = [...r.stdout.matchAll(/^(\d+) {2}\(number\)$/gm)].map((m) => Number(m[1]));
  assert.equal(pids.length, 3, r.stdout);
  assert.deepEqual([...pids].sort(), rows.slice(1).map((row) => row.pid).sort(), r.stdout);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

test('job session (Node.js): a short-lived child started after attach is held until its breakpoints are set', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'later,once');
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'wait\np name\np process.pid\n', BREAK());
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Stopped at breakpoint(?: 1)? in thread pid (\d+) work\.mjs: main/);
  assert.match(r.stdout, /^"once" {2}\(string\)$/m);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

test('job session (Node.js): a child killed while stopped is reported and the session goes on with the others', { timeout: 60_000 }, async (t) => {
  const job = await startNodeJob(t, 'fork,spawn');
  await waitForRows(job.port, (r) => r.length >= 3);
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'p process.pid\np process.kill(process.pid, "SIGKILL")\nprocesses\ncontinue\np process.pid\n', BREAK());
  const m = /Stopped at breakpoint(?: 1)? in thread pid (\d+) (fork|work\.mjs): main/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const killed = m[1]!;
  assert.match(r.stdout, new RegExp(`error \\[LR_CLOSED\\]: pid ${killed} ${m[2]!.replace('.', '\\.')} ended before answering evaluate`));
  assert.match(r.stdout, new RegExp(`longreach: pid ${killed} [^\\n]* left the job session`));
  // (the other child's stop may be printed in the middle of the table: it became current when the killed one went)
  const table = r.stdout.split('(longreach) processes\n')[1]!.split('(longreach)')[0]!.split('\n').filter((l) => /^\d+ {2,}/.test(l));
  assert.equal(table.length, 2, r.stdout);
  assert.ok(!table.some((l) => l.startsWith(`${killed} `)), r.stdout);
  // the other child's stop is still there to be reached
  const after = [...r.stdout.matchAll(/^(\d+) {2}\(number\)$/gm)].map((x) => x[1]);
  assert.ok(after.length >= 2 && after.at(-1) !== killed, r.stdout);
  job.stop();
  // the killed child's exit status is the job's business: it reports it, and ends
  assert.equal(await job.exited, 0, job.stderr());
});

test('job session (Node.js): kill ends the whole job, children that have not joined and other programs too', { timeout: 60_000 }, async (t) => {
  // attached at once: the children may not have joined yet when kill comes
  const job = await startNodeJob(t, 'other,fork,spawn');
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'kill\n');
  assert.match(r.stdout, /The program was ended\./, r.stdout + r.stderr);
  await groupEnded(job.child.pid!);
});

test('LONGREACH_SUBPROCESS=0: children run without the agent, unlisted and never stopped', { timeout: 60_000 }, async (t) => {
  const kinds = 'fork,cluster,spawn';
  const job = await startNodeJob(t, kinds, { LONGREACH_SUBPROCESS: '0' });
  const deadline = Date.now() + 20_000;
  while (childrenOf(job.child.pid!).length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const kids = childrenOf(job.child.pid!);
  assert.equal(kids.length, 3);
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the children's hooks have run (the listing wakes a following job's children, and waits for them)
  const rows = await listJob(job.port);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  assert.equal(rows[0]!.pid, job.child.pid);
  for (const pid of kids) assert.match(procOf(pid).environ.get('LONGREACH_JOB') ?? '', /"off":true/);
  const r = await runCli(['attach', `tcp://127.0.0.1:${job.port}`, '--secret-env', 'LR_JOB_SECRET', '--batch', '-', '--timeout', '3', ...BREAK()], { input: 'wait\n', env: JOB_SECRET_ENV });
  assert.match(r.stdout + r.stderr, /did not stop within 3 s/);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  const plain = plainNodeRun(kinds);
  assert.equal(job.stdout(), plain.stdout);
  assert.equal(job.stderr(), plain.stderr);
});

/** What the gateway sends back to a control hello with `token`, and whether it closed the connection itself. */
function helloAnswer(socketPath: string, token: string): Promise<{ got: string; closedByGateway: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let got = '';
    let closedByGateway = false;
    const body = JSON.stringify({ type: 'hello', kind: 'control', token, pid: 1, ppid: 0, capabilities: {} });
    socket.on('connect', () => socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`));
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.on('end', () => (closedByGateway = true));
    socket.on('error', reject);
    socket.on('close', () => resolve({ got, closedByGateway }));
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

test('a Node.js job behind a hub (LONGREACH_CONNECT): its children are listed under the root and stopped through ?pid=', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-node-hub-job-'));
  const stopFile = join(dir, 'stop');
  t.after(() => {
    writeFileSync(stopFile, '');
    rmSync(dir, { recursive: true, force: true });
  });
  const hub = await startHubProcess(t);
  const program = startNodeDialer(t, hub.port, join(ROOT, NODE_JOB), ['fork,cluster'], { JOB_STOP_FILE: stopFile });
  const env = { LR_HUB_CLIENT: HUB_SECRET };
  let rows: { pid: number; ppid: number | null; label: string; target: string }[] = [];
  const deadline = Date.now() + 30_000;
  while (rows.length < 3 && Date.now() < deadline) {
    const r = await runCli(['list', `tcp://127.0.0.1:${hub.port}`, '--secret-env', 'LR_HUB_CLIENT', '--json'], { env });
    rows = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as (typeof rows)[number] & { ok: boolean }).filter((x) => x.ok);
    if (rows.length < 3) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(rows.length, 3, JSON.stringify(rows));
  assert.equal(rows[0]!.pid, program.child.pid);
  assert.deepEqual(rows.slice(1).map((r) => [r.ppid, r.label]).sort(), [[program.child.pid, 'cluster worker 1'], [program.child.pid, 'fork']]);
  for (const row of rows.slice(1)) assert.deepEqual(listeningSockets(row.pid), { tcp: 0, unix: 0 });
  const fork = rows.find((r) => r.label === 'fork')!;
  const r = await runCli(['attach', fork.target, '--secret-env', 'LR_HUB_CLIENT', '--batch', '-', '--timeout', '30', ...BREAK()], { input: 'p process.pid\n', env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Stopped at breakpoint 1 in thread main \(1\)/);
  assert.match(r.stdout, new RegExp(`^${fork.pid} {2}\\(number\\)$`, 'm'));
  writeFileSync(stopFile, '');
  assert.equal(await program.exited, 0, program.stderr());
  assert.equal(program.stdout(), 'fork done\ncluster done\njob done: [0,0]\n');
});

test('a Node.js child started with the hook under a Python root joins the Python job (the same gateway wire)', { timeout: 90_000 }, async (t) => {
  const job = await startJob(t, jobInterpreters()[0]!.exe, 'test/fixtures/node/job/python_root.py', [], {
    env: { LR_NODE_OPTIONS: `--import=${pathToFileURL(join(ROOT, 'dist/src/agent-node/register.js')).href}`, LR_NODE: process.execPath },
  });
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  const node = rows[1]!;
  assert.equal(node.ppid, rows[0]!.pid);
  assert.equal(node.label, 'work.mjs');
  const r = await attachBatch(`tcp://127.0.0.1:${job.port}`, 'p process.pid\nprocesses\n', BREAK());
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`Stopped at breakpoint(?: 1)? in thread pid ${node.pid}( work\\.mjs)?: main`));
  assert.match(r.stdout, new RegExp(`^${node.pid} {2}\\(number\\)$`, 'm'));
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'node child done: 0\n');
});

test('bridge on a Node.js job: children as threads, a stop in a child, its stack and variables', { timeout: 90_000 }, async (t) => {
  const job = await startNodeJob(t, 'fork,cluster');
  const rows = await waitForRows(job.port, (r) => r.length >= 3);
  const bridge = startStdioBridge(t, JOB_SECRET_ENV);
  const client = bridge.client;
  await client.initializeRequest({ adapterID: 'longreach', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = client.waitForEvent('initialized');
  await client.attachRequest({ qualifier: `tcp://127.0.0.1:${job.port}`, secretEnv: 'LR_JOB_SECRET' } as never);
  await initialized;
  const work = join(ROOT, NODE_WORK);
  const set = await client.setBreakpointsRequest({ source: { path: work }, breakpoints: [{ line: tickLine() }] });
  assert.equal(set.body.breakpoints[0]?.verified, true);
  const stopped = client.waitForEvent('stopped');
  await client.configurationDoneRequest();
  const stop = (await stopped).body as { threadId: number; allThreadsStopped?: boolean };
  assert.equal(stop.allThreadsStopped, false, 'a stop holds one process of the job');
  const threads = (await client.threadsRequest()).body.threads;
  for (const row of rows) assert.ok(threads.some((th) => th.name.startsWith(`pid ${row.pid}`)), JSON.stringify(threads));
  assert.ok(threads.some((th) => /^pid \d+ cluster worker 1: main$/.test(th.name)), JSON.stringify(threads));
  const pid = Number(/^pid (\d+)/.exec(threads.find((th) => th.id === stop.threadId)!.name)![1]);
  assert.notEqual(pid, rows[0]!.pid, 'the root does not tick: the stop is in a child');
  const frame = (await client.stackTraceRequest({ threadId: stop.threadId })).body.stackFrames[0]!;
  assert.equal(frame.name, 'tick');
  assert.equal(frame.source?.path, work);
  const scopes = await client.scopesRequest({ frameId: frame.id });
  const vars = await client.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
  assert.equal(vars.body.variables.find((v) => v.name === 'here')?.value, String(pid));
  const name = await client.evaluateRequest({ expression: 'name', frameId: frame.id, context: 'watch' });
  assert.match(name.body.result, /^"(fork|cluster)"$/);
  await client.disconnectRequest({});
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'fork done\ncluster done\njob done: [0,0]\n');
});

test('job (Node.js): ?pid= of a process of the job that will never join says why: node with an environment or a NODE_OPTIONS of its own, Python', async (t) => {
  const why: Record<string, RegExp> = {
    noenv: /was started without the job's environment \(LONGREACH_JOB and NODE_OPTIONS: .*\), so no agent runs in it/,
    options: /was started with a NODE_OPTIONS of its own, without the job's hook in it, so no agent runs in it/,
    python: /runs python[\d.]*: a Node.js root gives its Python children no hook \(docs\/protocol.md 5.3\), so no agent runs in it unless its own code starts one/,
  };
  const job = await startNodeJob(t, Object.keys(why).join(','));
  const pids = await printedPids(job.stdout, Object.keys(why));
  for (const [kind, text] of Object.entries(why)) await assertNeverJoins(job.port, pids[kind]![0]!, text);
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

test('job (Node.js): ?pid= of a child started before the root\'s agent (enableAttach() called late, or injected) says so and how to reach it', async (t) => {
  await checkStartedBeforeAgent(t, [process.execPath, 'test/fixtures/node/job/late.mjs'], {}, 'enableAttach()');
});

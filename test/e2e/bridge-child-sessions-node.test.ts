// Child sessions for a Node.js job (docs/protocol.md 5.3, docs/editors.md "Jobs"). `longreach dap` on the root of a
// job started under `node --import longreach/register`, for an editor that announces supportsStartDebuggingRequest
// (VS Code): the child_process.fork child there at attach and a child spawned later each come as a `startDebugging`
// reverse request; the test opens each child session as VS Code would (a second adapter, the configuration as
// given). The breakpoint stops in the child's own session, never in the root's, which shows the root's thread
// alone; the later child is held until its own session has set its breakpoints; a child's end ends its session.
// Below the bridge, the agent's own words: `longreach/process` started / exited, the root's breakpoints in the root
// only, and threads mode unchanged without the argument (job-node.test.ts, bridge-job.test.ts).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { connect } from '../../src/client/connect.js';
import { BridgeClient, startStdioBridge } from '../helpers/dap-bridge.js';
import { JOB_SECRET_ENV, waitForRows } from '../helpers/job.js';
import { NODE_JOB, NODE_WORK, startNodeJob, tickLine } from '../helpers/node-job.js';
import { ROOT } from '../helpers/paths.js';

const WORK = join(ROOT, NODE_WORK);
const JOB = join(ROOT, NODE_JOB);
const EDITOR = { adapterID: 'longreach', clientID: 'vscode', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsStartDebuggingRequest: true };

type StartDebugging = { request: string; configuration: Record<string, unknown> };
type ProcessEvent = { reason: string; pid: number; ppid?: number | null; label?: string };

/** A fork child ticking from the start; once `go()` is called, a spawned child that ticks once and ends. */
async function startChildrenJob(t: TestContext, hold: string) {
  const dir = mkdtempSync(join(tmpdir(), 'lr-node-children-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const goFile = join(dir, 'go');
  const job = await startNodeJob(t, 'fork,go,once', { JOB_GO_FILE: goFile, LONGREACH_JOB_HOLD: hold });
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  assert.equal(rows.length, 2, JSON.stringify(rows));
  return { job, root: rows[0]!.pid, forkPid: rows[1]!.pid, go: () => writeFileSync(goFile, '') };
}

function startDebuggingOf(request: DebugProtocol.Request): StartDebugging {
  assert.equal(request.command, 'startDebugging');
  const args = request.arguments as StartDebugging;
  assert.equal(args.request, 'attach');
  return args;
}

/** Opens a child session as VS Code does: initialize (it supports startDebugging too), attach with the configuration. */
async function openChild(client: BridgeClient, configuration: Record<string, unknown>) {
  await client.initializeRequest(EDITOR);
  const initialized = client.waitForEvent('initialized');
  await client.attachRequest(configuration as never);
  await initialized;
  // a running process may stop as soon as the breakpoint is set, before configurationDone
  // (a process held before its own code, or one that has not loaded work.mjs yet, answers "not loaded yet": the
  // breakpoint is placed when the script loads)
  const stopped = client.waitForEvent('stopped', 20_000);
  await client.setBreakpointsRequest({ source: { path: WORK }, breakpoints: [{ line: tickLine() }] });
  await client.configurationDoneRequest();
  return stopped;
}

/** The stop is in tick() of process `pid` (its `here` says so); returns the stopped thread. */
async function assertStoppedIn(client: BridgeClient, stop: DebugProtocol.Event, pid: number): Promise<number> {
  const body = stop.body as { threadId: number; allThreadsStopped?: boolean };
  assert.equal(body.allThreadsStopped, true, 'a child session debugs one process');
  const frame = (await client.stackTraceRequest({ threadId: body.threadId })).body.stackFrames[0]!;
  assert.equal(frame.name, 'tick');
  assert.equal(frame.source?.path, WORK);
  const scopes = await client.scopesRequest({ frameId: frame.id });
  const vars = await client.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
  assert.equal(vars.body.variables.find((v) => v.name === 'here')?.value, String(pid));
  return body.threadId;
}

test('bridge on a Node.js job with startDebugging: a child session per process, its own breakpoints, ended with its process', { timeout: 120_000 }, async (t) => {
  // LONGREACH_JOB_HOLD: a joining process waits for its own session's configurationDone; generous for a busy machine
  const { job, root, forkPid, go } = await startChildrenJob(t, '30');

  const parent = startStdioBridge(t, JOB_SECRET_ENV).client;
  const childA = startStdioBridge(t, JOB_SECRET_ENV).client; // started early: VS Code's adapter is already running
  const childB = startStdioBridge(t, JOB_SECRET_ENV).client;
  const parentStops: unknown[] = [];
  parent.on('stopped', (e) => parentStops.push(e));

  await parent.initializeRequest(EDITOR);
  const initialized = parent.waitForEvent('initialized');
  await parent.attachRequest({ qualifier: `tcp://127.0.0.1:${job.port}`, secretEnv: 'LR_JOB_SECRET', pathMappings: [], requestTimeout: 30 } as never);
  await initialized;
  // VS Code sends every session the same breakpoints: the root's must not stop in the children
  const set = await parent.setBreakpointsRequest({ source: { path: WORK }, breakpoints: [{ line: tickLine() }] });
  assert.equal(set.body.breakpoints[0]?.verified, true, 'the root loaded work.mjs too');
  await parent.configurationDoneRequest();

  // the fork child, there before the attach
  const requestA = await parent.nextReverseRequest(20_000);
  const a = startDebuggingOf(requestA);
  assert.deepEqual(a.configuration, {
    type: 'longreach',
    request: 'attach',
    name: `pid ${forkPid} fork`,
    qualifier: `tcp://127.0.0.1:${job.port}?pid=${forkPid}`,
    secretEnv: 'LR_JOB_SECRET',
    pathMappings: [],
    requestTimeout: 30,
  });
  parent.respondTo(requestA);
  const threadA = await assertStoppedIn(childA, await openChild(childA, a.configuration), forkPid);
  const threads = (await parent.threadsRequest()).body.threads;
  assert.deepEqual(threads.map((th) => th.name), ['main'], 'the root session shows the root\'s thread only');
  assert.deepEqual((await childA.threadsRequest()).body.threads.map((th) => [th.id, th.name]), [[threadA, 'main']]);
  await childA.setBreakpointsRequest({ source: { path: WORK }, breakpoints: [] });
  await childA.continueRequest({ threadId: threadA });

  // a process that joins later ticks once and ends: it stops only because it is held until its own session has
  // set its breakpoints (nobody else releases it: the root's session opens no session with it)
  go();
  const requestB = await parent.nextReverseRequest(20_000);
  const b = startDebuggingOf(requestB);
  const m = /^pid (\d+) work\.mjs$/.exec(String(b.configuration.name));
  assert.ok(m, JSON.stringify(b.configuration));
  const bPid = Number(m[1]);
  assert.ok(bPid !== root && bPid !== forkPid);
  assert.equal(b.configuration.qualifier, `tcp://127.0.0.1:${job.port}?pid=${bPid}`);
  parent.respondTo(requestB);
  const threadB = await assertStoppedIn(childB, await openChild(childB, b.configuration), bPid);
  const ended = childB.waitForEvent('terminated', 20_000);
  await childB.continueRequest({ threadId: threadB });
  await ended; // the process ran to its end: its session ends

  const endedA = childA.waitForEvent('terminated', 20_000);
  job.stop();
  await endedA;
  assert.equal(await job.exited, 0, job.stderr());
  assert.deepEqual(parentStops, [], 'no stop reached the root session');
  assert.equal(parent.pendingReverseRequests, 0);
  // the child sessions asked for child sessions too (an editor with startDebugging): one process, nothing to report
  assert.equal(childA.pendingReverseRequests + childB.pendingReverseRequests, 0);
  assert.deepEqual(job.stdout().split('\n').filter(Boolean), ['fork done', 'once done', 'job done: [0,0]']);
});

test('Node.js job session with childSessions: longreach/process started and exited; the root\'s breakpoints stop in the root only', { timeout: 90_000 }, async (t) => {
  // a short hold: nobody opens the later child's session, so it runs on after 1 s and ends
  const { job, root, forkPid, go } = await startChildrenJob(t, '1');
  const session = await connect(`tcp://127.0.0.1:${job.port}`, { secret: JOB_SECRET_ENV.LR_JOB_SECRET, timeoutMs: 10_000 });
  t.after(() => session.close());
  const order: string[] = [];
  const reports: ProcessEvent[] = [];
  const stops: { threadId: number; allThreadsStopped?: boolean }[] = [];
  session.on('event', (name: string, body: unknown) => {
    order.push(name);
    if (name === 'longreach/process') reports.push(body as ProcessEvent);
    if (name === 'stopped') stops.push(body as (typeof stops)[number]);
  });
  const waitFor = async (what: string, ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 400 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(ok(), `${what}; events: ${JSON.stringify(order)}; reports: ${JSON.stringify(reports)}`);
  };

  const initialized = session.waitForEvent('initialized');
  await session.request('attach', { childSessions: true });
  await initialized;
  await waitFor('the fork child is reported', () => reports.length >= 1);
  // reported after the attach response, as `initialized` is
  assert.ok(order.indexOf('longreach/process') > order.indexOf('initialized'), JSON.stringify(order));
  assert.deepEqual(reports[0], { reason: 'started', pid: forkPid, ppid: root, label: 'fork' });
  const doneLine = readFileSync(JOB, 'utf8').split('\n').findIndex((l) => l.includes('console.log(`${kind} done`)')) + 1;
  assert.ok(doneLine > 0);
  for (const [path, line] of [[WORK, tickLine()], [JOB, doneLine]] as const) {
    const body = (await session.request('setBreakpoints', { source: { path }, breakpoints: [{ line }] })) as { breakpoints: { verified: boolean }[] };
    assert.equal(body.breakpoints[0]?.verified, true, path);
  }
  await session.request('configurationDone', {});
  const threads = ((await session.request('threads', {})) as { threads: { id: number; name: string }[] }).threads;
  assert.deepEqual(threads.map((th) => th.name), ['main'], 'the root process alone, its thread unprefixed');

  // a process that joins later: reported; unheld after LONGREACH_JOB_HOLD, it runs through tick() without a stop
  // here (the breakpoint is the root's) and leaves
  go();
  await waitFor('the later child is reported and leaves', () => reports.some((r) => r.reason === 'exited'));
  assert.equal(reports.length, 3, JSON.stringify(reports));
  const later = reports[1]!;
  assert.equal(later.reason, 'started');
  assert.ok(later.pid !== root && later.pid !== forkPid, JSON.stringify(later));
  assert.deepEqual(later, { reason: 'started', pid: later.pid, ppid: root, label: 'work.mjs' });
  assert.deepEqual(reports[2], { reason: 'exited', pid: later.pid });
  assert.equal(stops.length, 0, `no child stopped at the root session's breakpoint: ${JSON.stringify(stops)}`);
  assert.ok(!order.includes('thread') && !order.includes('output'), `nothing of the children reaches the session: ${JSON.stringify(order)}`);

  // the root's own breakpoint stops the root, as for one process
  job.stop();
  await waitFor('the root stops after the fork child ended', () => stops.length >= 1);
  assert.deepEqual(stops[0], { ...stops[0], threadId: 1, allThreadsStopped: true });
  const frames = ((await session.request('stackTrace', { threadId: 1 })) as { stackFrames: { source?: { path?: string }; line: number }[] }).stackFrames;
  assert.equal(frames[0]?.source?.path, JOB);
  assert.equal(frames[0]?.line, doneLine);
  await waitFor('the fork child leaves', () => reports.length >= 4);
  assert.deepEqual(reports[3], { reason: 'exited', pid: forkPid });
  await session.disconnect();
  assert.equal(await job.exited, 0, job.stderr());
  assert.equal(job.stdout(), 'fork done\nonce done\njob done: [0,0]\n');
});

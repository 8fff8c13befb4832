// `longreach dap` on a Python job's root for an editor that announces supportsStartDebuggingRequest (VS Code): each
// other process of the job comes as a `startDebugging` reverse request; the test opens that child session as VS Code
// would (a second adapter, the configuration as given), and the breakpoint stops in the child's own session, never
// in the root's. Also: the secret follows by name (secretEnv) or, for an inline secret, in memory within one adapter
// process (`--port`), never in the configuration; a stdio adapter with an inline secret keeps threads; a malformed
// child configuration gets a clear error.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { BridgeClient, connectPortClient, errorOf, startPortBridge, startStdioBridge } from '../helpers/dap-bridge.js';
import { JOB_SECRET_ENV, jobInterpreters, startJob, waitForRows } from '../helpers/job.js';
import { ROOT } from '../helpers/paths.js';

const WORK = `${ROOT}test/fixtures/python/job/work.py`;
const TICK_LINE = 10;
const EDITOR = { adapterID: 'longreach', clientID: 'vscode', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsStartDebuggingRequest: true };

type StartDebugging = { request: string; configuration: Record<string, unknown> };

/** The children fixture: a forked child ticking from the start, a one-tick subprocess once `go()` is called. */
async function startChildrenJob(t: TestContext) {
  const dir = mkdtempSync(join(tmpdir(), 'lr-children-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const goFile = join(dir, 'go');
  // LONGREACH_JOB_HOLD: a joining process waits for its own session's configurationDone; generous for a busy machine
  const job = await startJob(t, jobInterpreters()[0]!.exe, 'test/fixtures/python/job/children.py', [], { env: { JOB_GO_FILE: goFile, LONGREACH_JOB_HOLD: '30' } });
  const rows = await waitForRows(job.port, (r) => r.length >= 2);
  return { job, rows, go: () => writeFileSync(goFile, '') };
}

function startDebuggingOf(request: DebugProtocol.Request): StartDebugging {
  assert.equal(request.command, 'startDebugging');
  const args = request.arguments as StartDebugging;
  assert.equal(args.request, 'attach');
  return args;
}

/** Opens a child session as VS Code does: initialize (it supports startDebugging too), attach with the configuration. */
async function openChild(client: BridgeClient, configuration: Record<string, unknown>, breakpointLine: number | null) {
  await client.initializeRequest(EDITOR);
  const initialized = client.waitForEvent('initialized');
  await client.attachRequest(configuration as never);
  await initialized;
  // a running process may stop as soon as the breakpoint is set, before configurationDone
  const stopped = breakpointLine === null ? null : client.waitForEvent('stopped', 20_000);
  const set = await client.setBreakpointsRequest({ source: { path: WORK }, breakpoints: breakpointLine === null ? [] : [{ line: breakpointLine }] });
  if (breakpointLine !== null) assert.equal(set.body.breakpoints[0]?.verified, true);
  await client.configurationDoneRequest();
  return stopped;
}

/** The stopped frame is tick() in process `pid`: its `here` says so. */
async function assertStoppedIn(client: BridgeClient, stop: DebugProtocol.Event, pid: number): Promise<void> {
  const threadId = (stop.body as { threadId: number }).threadId;
  const frame = (await client.stackTraceRequest({ threadId })).body.stackFrames[0]!;
  assert.equal(frame.name, 'tick');
  assert.equal(frame.source?.path, WORK);
  const scopes = await client.scopesRequest({ frameId: frame.id });
  const vars = await client.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
  assert.equal(vars.body.variables.find((v) => v.name === 'here')?.value, String(pid));
}

test('bridge on a job with startDebugging: a child session per process, its own breakpoints, ended with its process', { timeout: 120_000 }, async (t) => {
  const { job, rows, go } = await startChildrenJob(t);
  const root = rows[0]!.pid;
  const forkPid = rows.find((r) => r.pid !== root)!.pid;

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
  await parent.setBreakpointsRequest({ source: { path: WORK }, breakpoints: [{ line: TICK_LINE }] });
  await parent.configurationDoneRequest();

  // the forked child, there before the attach
  const requestA = await parent.nextReverseRequest(20_000);
  const a = startDebuggingOf(requestA);
  assert.deepEqual(a.configuration, {
    type: 'longreach',
    request: 'attach',
    name: `pid ${forkPid}`,
    qualifier: `tcp://127.0.0.1:${job.port}?pid=${forkPid}`,
    secretEnv: 'LR_JOB_SECRET',
    pathMappings: [],
    requestTimeout: 30,
  });
  parent.respondTo(requestA);
  const stopA = await openChild(childA, a.configuration, TICK_LINE);
  await assertStoppedIn(childA, (await stopA)!, forkPid);
  const threads = (await parent.threadsRequest()).body.threads;
  assert.ok(threads.length > 0 && threads.every((th) => !th.name.startsWith('pid ')), `the root session shows the root's threads only: ${JSON.stringify(threads)}`);
  const childThreads = (await childA.threadsRequest()).body.threads;
  assert.deepEqual(childThreads.map((th) => th.name), ['MainThread']);
  await childA.setBreakpointsRequest({ source: { path: WORK }, breakpoints: [] });
  await childA.continueRequest({ threadId: childThreads[0]!.id });

  // a process that joins later: held until its own session has set its breakpoints, then stops there
  go();
  const requestB = await parent.nextReverseRequest(20_000);
  const b = startDebuggingOf(requestB);
  const bPid = Number(/\?pid=(\d+)$/.exec(String(b.configuration.qualifier))![1]);
  assert.ok(bPid !== root && bPid !== forkPid, JSON.stringify(b.configuration));
  parent.respondTo(requestB);
  const stopB = await openChild(childB, b.configuration, TICK_LINE);
  const stoppedB = (await stopB)!;
  await assertStoppedIn(childB, stoppedB, bPid);
  const ended = childB.waitForEvent('terminated', 20_000);
  await childB.continueRequest({ threadId: (stoppedB.body as { threadId: number }).threadId });
  await ended; // the process ran to its end: its session ends

  // the forked child ends at the stop file (os._exit: no goodbye from its agent; the gateway says it ended)
  const endedA = childA.waitForEvent('terminated', 20_000);
  job.stop();
  await endedA;
  assert.equal(await job.exited, 0, job.stderr());
  assert.deepEqual(parentStops, [], 'no stop reached the root session');
  assert.equal(parent.pendingReverseRequests, 0);
  // the child sessions asked for child sessions too (an editor with startDebugging): one process, nothing to report
  assert.equal(childA.pendingReverseRequests + childB.pendingReverseRequests, 0);
  assert.deepEqual(job.stdout().split('\n').filter(Boolean).sort(), ['fork done', 'job done: [0, 0]', 'once done']);
});

test('an inline secret follows a child session only in memory (--port); stdio keeps threads; bad child configurations', { timeout: 120_000 }, async (t) => {
  const { job, rows, go } = await startChildrenJob(t);
  const forkPid = rows.find((r) => r.pid !== rows[0]!.pid)!.pid;
  const bridge = await startPortBridge(t);
  const connect = (): Promise<BridgeClient> => connectPortClient(t, bridge.port);

  const parent = await connect();
  const shown: string[] = [];
  parent.on('output', (e: DebugProtocol.OutputEvent) => shown.push(e.body.output));
  await parent.initializeRequest(EDITOR);
  await parent.attachRequest({ qualifier: `tcp://127.0.0.1:${job.port}`, secret: JOB_SECRET_ENV.LR_JOB_SECRET } as never);
  await parent.configurationDoneRequest();
  const request = await parent.nextReverseRequest(20_000);
  const { configuration } = startDebuggingOf(request);
  assert.ok(!JSON.stringify(configuration).includes(JOB_SECRET_ENV.LR_JOB_SECRET), `the secret is not in the configuration: ${JSON.stringify(configuration)}`);
  assert.match(String(configuration.secretFromSession), /^[0-9a-f]{32}$/);
  assert.equal(configuration.secret, undefined);
  parent.respondTo(request, false, 'the person cancelled'); // an editor may refuse; the root session says so and goes on
  const said = `longreach: the editor did not open a debug session for process ${forkPid}: the person cancelled\n`;
  for (let i = 0; i < 100 && !shown.includes(said); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(shown.includes(said), JSON.stringify(shown));

  const child = await connect();
  await openChild(child, configuration, null);
  assert.deepEqual((await child.threadsRequest()).body.threads.map((th) => th.name), ['MainThread']);
  const info = await child.raw('longreach/processInfo');
  assert.equal((info.body as { pid: number }).pid, forkPid);
  await child.disconnectRequest({});

  // malformed child configurations: each a clear error, the adapter stays usable
  const bad = await connect();
  await bad.initializeRequest(EDITOR);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...configuration, secretFromSession: 42 }, /"secretFromSession" must be a non-empty string/],
    [{ ...configuration, secretFromSession: 'f'.repeat(32) }, /"secretFromSession" names no secret this adapter holds/],
    [{ ...configuration, secretEnv: 'LR_JOB_SECRET' }, /give only one of "secretEnv", "secretFromSession"/],
    [{ ...configuration, qualifier: `tcp://127.0.0.1:${job.port}?pid=x` }, /pid takes a process id/],
    [{ ...configuration, childSessions: 'yes' }, /"childSessions" must be true or false/],
  ];
  for (const [args, message] of cases) {
    const e = errorOf(await bad.raw('attach', args));
    assert.match(e.message, message);
  }
  // once the parent session ends, its secret is no longer held for children
  await parent.disconnectRequest({});
  await new Promise((r) => setTimeout(r, 200));
  const late = errorOf(await bad.raw('attach', configuration));
  assert.match(late.message, /names no secret this adapter holds: the session that opened this child session has ended/);

  // stdio (one session per adapter process) with an inline secret: children stay threads, and the console says why
  const stdio = startStdioBridge(t).client;
  await stdio.initializeRequest(EDITOR);
  const note = stdio.waitForEvent('output');
  const initialized = stdio.waitForEvent('initialized');
  await stdio.attachRequest({ qualifier: `tcp://127.0.0.1:${job.port}`, secret: JOB_SECRET_ENV.LR_JOB_SECRET } as never);
  assert.match(String((await note).body.output), /shown as threads, not as child sessions.*"secretFile" or "secretEnv"/);
  await initialized;
  await stdio.configurationDoneRequest();
  const threads = (await stdio.threadsRequest()).body.threads;
  assert.ok(threads.some((th) => th.name === `pid ${forkPid}: MainThread`), JSON.stringify(threads));
  assert.equal(stdio.pendingReverseRequests, 0);
  await stdio.disconnectRequest({});
  go();
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
});

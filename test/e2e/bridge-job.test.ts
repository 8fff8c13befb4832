// `longreach dap` on a Python job's root, driven by the real DAP test client as an editor would: the job's child
// processes appear as threads named `pid 4242 <label>: MainThread` (the bridge does not open child sessions with
// startDebugging), a child's thread stops at a breakpoint, its stack and variables are read, and after
// disconnecting the job finishes by itself.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startStdioBridge } from '../helpers/dap-bridge.js';
import { JOB_SECRET_ENV, jobInterpreters, startJob, waitForRows } from '../helpers/job.js';
import { ROOT } from '../helpers/paths.js';

const WORK = `${ROOT}test/fixtures/python/job/work.py`;

test('bridge on a job: children as threads, a stop in a child, its stack and variables', { timeout: 90_000 }, async (t) => {
  const job = await startJob(t, jobInterpreters()[0]!.exe, 'test/fixtures/python/job/job.py', ['fork,mp-spawn']);
  const rows = await waitForRows(job.port, (r) => r.length >= 3);
  const bridge = startStdioBridge(t, JOB_SECRET_ENV);
  const client = bridge.client;
  await client.initializeRequest({ adapterID: 'longreach', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = client.waitForEvent('initialized', 30_000); // bounded generously: a loaded CI machine
  await client.attachRequest({ qualifier: `tcp://127.0.0.1:${job.port}`, secretEnv: 'LR_JOB_SECRET' } as never);
  await initialized;
  const set = await client.setBreakpointsRequest({ source: { path: WORK }, breakpoints: [{ line: 10 }] });
  assert.equal(set.body.breakpoints[0]?.verified, true);
  const stopped = client.waitForEvent('stopped', 30_000);
  await client.configurationDoneRequest();
  const stop = (await stopped).body as { threadId: number; allThreadsStopped?: boolean };
  assert.equal(stop.allThreadsStopped, false, 'a stop holds one process of the job');

  const threads = (await client.threadsRequest()).body.threads;
  for (const row of rows) assert.ok(threads.some((th) => th.name.startsWith(`pid ${row.pid}`)), JSON.stringify(threads));
  assert.ok(threads.some((th) => /^pid \d+ mp-spawn: MainThread$/.test(th.name)), JSON.stringify(threads));
  const stoppedThread = threads.find((th) => th.id === stop.threadId)!;
  const pid = Number(/^pid (\d+)/.exec(stoppedThread.name)![1]);
  assert.notEqual(pid, rows[0]!.pid, 'the root does not tick: the stop is in a child');

  const frame = (await client.stackTraceRequest({ threadId: stop.threadId })).body.stackFrames[0]!;
  assert.equal(frame.name, 'tick');
  assert.equal(frame.source?.path, WORK);
  const scopes = await client.scopesRequest({ frameId: frame.id });
  const vars = await client.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
  assert.equal(vars.body.variables.find((v) => v.name === 'here')?.value, String(pid));
  const name = await client.evaluateRequest({ expression: 'name', frameId: frame.id, context: 'watch' });
  assert.match(name.body.result, /^'(fork|mp-spawn)'$/);

  await client.disconnectRequest({});
  job.stop();
  assert.equal(await job.exited, 0, job.stderr());
  assert.deepEqual(job.stdout().split('\n').filter(Boolean).sort(), ['fork done', 'job done: [0, 0]', 'mp-spawn done']);
});

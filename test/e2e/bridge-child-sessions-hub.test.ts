// Child debug sessions through a hub: `?pid=` of a job's root reaches the whole job there, so the bridge asks for
// child sessions with `?pid=` too; the `startDebugging` configuration names the child through the same hub, and a
// breakpoint stops in the child's own session.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { startStdioBridge } from '../helpers/dap-bridge.js';
import { ROOT } from '../helpers/paths.js';
import { HUB_SECRET, startHubProcess, startPythonDialer } from './hub-helpers.js';

const JOB = `${ROOT}test/fixtures/python/job/children.py`;
const WORK = `${ROOT}test/fixtures/python/job/work.py`;
const EDITOR = { adapterID: 'longreach', clientID: 'vscode', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path', supportsStartDebuggingRequest: true };

test('through a hub: ?pid= of the job\'s root opens child sessions through the hub; a breakpoint stops in the child', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-children-hub-'));
  const stop = join(dir, 'stop');
  const go = join(dir, 'go');
  const hub = await startHubProcess(t);
  const job = startPythonDialer(t, hub.port, { script: [JOB], env: { JOB_STOP_FILE: stop, JOB_GO_FILE: go } });
  t.after(() => {
    writeFileSync(stop, '');
    rmSync(dir, { recursive: true, force: true });
  });
  const root = job.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${root} `));

  const env = { LR_BRIDGE_SECRET: HUB_SECRET };
  const parent = startStdioBridge(t, env).client;
  const child = startStdioBridge(t, env).client;
  await parent.initializeRequest(EDITOR);
  await parent.attachRequest({ qualifier: `tcp://127.0.0.1:${hub.port}?pid=${root}`, secretEnv: 'LR_BRIDGE_SECRET' } as never);
  await parent.configurationDoneRequest();
  const request = await parent.nextReverseRequest(30_000);
  assert.equal(request.command, 'startDebugging');
  const { configuration } = request.arguments as { configuration: Record<string, unknown> };
  const pid = Number(/^tcp:\/\/127\.0\.0\.1:\d+\?pid=(\d+)$/.exec(String(configuration.qualifier))?.[1]);
  assert.ok(pid > 0 && pid !== root, JSON.stringify(configuration));
  assert.equal(configuration.qualifier, `tcp://127.0.0.1:${hub.port}?pid=${pid}`);
  assert.equal(configuration.secretEnv, 'LR_BRIDGE_SECRET');
  parent.respondTo(request);

  await child.initializeRequest(EDITOR);
  const initialized = child.waitForEvent('initialized');
  await child.attachRequest(configuration as never);
  await initialized;
  const stopped = child.waitForEvent('stopped', 20_000);
  await child.setBreakpointsRequest({ source: { path: WORK }, breakpoints: [{ line: 10 }] });
  await child.configurationDoneRequest();
  const threadId = ((await stopped) as DebugProtocol.StoppedEvent).body.threadId!;
  const frame = (await child.stackTraceRequest({ threadId })).body.stackFrames[0]!;
  assert.equal(frame.name, 'tick');
  const scopes = await child.scopesRequest({ frameId: frame.id });
  const vars = await child.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
  assert.equal(vars.body.variables.find((v) => v.name === 'here')?.value, String(pid));
  await child.setBreakpointsRequest({ source: { path: WORK }, breakpoints: [] });
  await child.disconnectRequest({});
  await parent.disconnectRequest({});
  writeFileSync(go, '');
  writeFileSync(stop, '');
  assert.equal(await job.exited, 0, job.stderr());
  assert.deepEqual(job.stdout().split('\n').filter(Boolean).sort(), ['fork done', 'job done: [0, 0]', 'once done']);
});

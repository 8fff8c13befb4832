// `longreach dap` through a hub, driven by the real DAP test client as an editor would: the qualifier names the
// hub and ?pid=; the agent (Python, dialing the hub, listening on nothing) stops at a breakpoint, shows its stack
// and variables, evaluates, and the program finishes after the detach. A pid the hub does not reach is refused
// with LR_NO_SUCH_PROCESS in the attach response.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorOf, startStdioBridge } from '../helpers/dap-bridge.js';
import { assertNoListeningSocket, HUB_LOOP, HUB_SECRET, startHubProcess, startPythonDialer } from './hub-helpers.js';

const BREAK_LINE = readFileSync(HUB_LOOP, 'utf8').split('\n').findIndex((l) => l.includes('HUB-BREAK')) + 1;

test('the editor bridge attaches through the hub with ?pid=: break, stack, variables, evaluate, detach', { timeout: 60_000 }, async (t) => {
  const hub = await startHubProcess(t);
  // --wait: the program (100 ticks of 0.05 s) starts only once the editor has configured; on a loaded machine it could
  // otherwise tick to its end before the breakpoint is set
  const agent = startPythonDialer(t, hub.port, { extra: ['--wait'], script: [HUB_LOOP, '100'] });
  const pid = agent.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  assertNoListeningSocket(pid, hub.port);

  const bridge = startStdioBridge(t, { LR_BRIDGE_SECRET: HUB_SECRET });
  const client = bridge.client;
  await client.initializeRequest({ adapterID: 'longreach', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const capabilities = client.waitForEvent('capabilities');
  const initialized = client.waitForEvent('initialized');
  await client.attachRequest({ qualifier: `tcp://127.0.0.1:${hub.port}?pid=${pid}`, secretEnv: 'LR_BRIDGE_SECRET' } as never);
  const caps = (await capabilities).body.capabilities;
  assert.ok(Array.isArray(caps.exceptionBreakpointFilters), 'the Python agent\'s capabilities reach the editor through the hub');
  await initialized;
  const set = await client.setBreakpointsRequest({ source: { path: HUB_LOOP }, breakpoints: [{ line: BREAK_LINE }] });
  assert.equal(set.body.breakpoints[0]?.verified, true);
  const stopped = client.waitForEvent('stopped');
  await client.configurationDoneRequest();
  const stop = (await stopped).body as { reason: string; threadId: number };
  assert.equal(stop.reason, 'breakpoint');
  const top = (await client.stackTraceRequest({ threadId: stop.threadId })).body.stackFrames[0]!;
  assert.equal(top.name, 'tick');
  assert.equal(top.line, BREAK_LINE);
  const scopes = await client.scopesRequest({ frameId: top.id });
  const vars = await client.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
  const i = Number(vars.body.variables.find((v) => v.name === 'i')?.value);
  assert.ok(Number.isInteger(i));
  const evaluated = await client.evaluateRequest({ expression: 'i * 3', frameId: top.id, context: 'repl' });
  assert.equal(evaluated.body.result, String(i * 3));
  await client.setBreakpointsRequest({ source: { path: HUB_LOOP }, breakpoints: [] });
  await client.disconnectRequest({});
  assert.equal(await agent.exited, 0, agent.stderr());
  assert.match(agent.stdout(), /done after 100 ticks/);
  assert.doesNotMatch(bridge.stderr(), new RegExp(HUB_SECRET));
});

test('the editor bridge gets LR_NO_SUCH_PROCESS for a pid the hub does not reach', { timeout: 60_000 }, async (t) => {
  const hub = await startHubProcess(t);
  const agent = startPythonDialer(t, hub.port);
  await hub.waitFor(new RegExp(`agent connected: pid ${agent.child.pid} `));
  const bridge = startStdioBridge(t, { LR_BRIDGE_SECRET: HUB_SECRET });
  await bridge.client.initializeRequest({ adapterID: 'longreach', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const response = await bridge.client.raw('attach', { qualifier: `tcp://127.0.0.1:${hub.port}?pid=1`, secretEnv: 'LR_BRIDGE_SECRET' });
  const error = errorOf(response);
  assert.equal(error.code, 'LR_NO_SUCH_PROCESS');
  assert.match(error.message, new RegExp(`no process 1 .*processes: ${agent.child.pid}`));
});

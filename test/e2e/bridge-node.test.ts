// `longreach dap` against the Node.js agent (the conformance fixture): attach over tcp:// with secretEnv,
// breakpoint, stop, stack, variables, evaluate, step, detach.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AGENTS, markerLine } from '../conformance/agents.js';
import { SECRET, startProgram } from '../conformance/harness.js';
import { startStdioBridge } from '../helpers/dap-bridge.js';
import { waitForPort } from '../helpers/ports.js';

const node = AGENTS.find((a) => a.lang === 'node')!;

test('Node agent through the bridge: break, stack, variables, evaluate, step, detach', { timeout: 60_000 }, async (t) => {
  const program = await startProgram(t, node, 'plain');
  await waitForPort(program.port, program.child);
  const { client } = startStdioBridge(t, { LR_NODE_SECRET: SECRET });
  await client.initializeRequest({ adapterID: 'longreach', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = client.waitForEvent('initialized');
  await client.attachRequest({ qualifier: `tcp://127.0.0.1:${program.port}`, secretEnv: 'LR_NODE_SECRET' } as never);
  await initialized;
  const line = markerLine(node.app, 'call-compute');
  await client.setBreakpointsRequest({ source: { path: node.app }, breakpoints: [{ line }] });
  const stopped = client.waitForEvent('stopped');
  await client.configurationDoneRequest();
  const stop = (await stopped).body as { threadId: number };
  const top = (await client.stackTraceRequest({ threadId: stop.threadId })).body.stackFrames[0]!;
  assert.equal(top.line, line);
  const scopes = await client.scopesRequest({ frameId: top.id });
  const vars = await client.variablesRequest({ variablesReference: scopes.body.scopes[0]!.variablesReference });
  assert.ok(vars.body.variables.some((v) => v.name === 'items'), JSON.stringify(vars.body.variables.map((v) => v.name)));
  const evaluated = await client.evaluateRequest({ expression: 'items.length + data.count', frameId: top.id, context: 'repl' });
  assert.equal(evaluated.body.result, '303');
  const next = client.waitForEvent('stopped');
  await client.nextRequest({ threadId: stop.threadId });
  await next;
  const after = (await client.stackTraceRequest({ threadId: stop.threadId })).body.stackFrames[0]!;
  assert.equal(after.line, line + 1);
  await client.disconnectRequest({});
  assert.equal(await program.exited, 0, program.stderr());
});

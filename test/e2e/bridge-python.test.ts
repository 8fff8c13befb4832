// `longreach dap` end to end against the Python agent, driven by the real DAP test client as an editor would:
// attach with a secret over tcp:// (secretEnv) and tcps:// (secretFile + fingerprint), breakpoint, stop, stack,
// variables, evaluate, step, detach (the program finishes by itself); and once through `--port`.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fingerprintOf } from '../../src/protocol/tls.js';
import { BridgeClient, startPortBridge, startStdioBridge } from '../helpers/dap-bridge.js';
import { launchAgent, PYTHON_FIXTURES, type PythonProcess } from '../helpers/python-agent.js';
import { createTestCa, tempDir, writeTemp } from '../helpers/tls-fixtures.js';

const SCRIPT = join(PYTHON_FIXTURES, 'stepping.py');

function lineOf(file: string, marker: string): number {
  const index = readFileSync(join(PYTHON_FIXTURES, file), 'utf8').split('\n').findIndex((l) => l.includes(marker));
  assert.ok(index >= 0, `${marker} in ${file}`);
  return index + 1;
}

/** The whole editor flow: initialize, attach, breakpoint, stop, stack, variables, evaluate, step, detach. */
async function debugStepping(client: BridgeClient, attachArgs: Record<string, unknown>, agent: PythonProcess): Promise<void> {
  const init = await client.initializeRequest({ adapterID: 'longreach', clientID: 'test', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  assert.equal(init.body?.supportsConfigurationDoneRequest, true);
  const capabilities = client.waitForEvent('capabilities');
  const initialized = client.waitForEvent('initialized');
  await client.attachRequest(attachArgs as never);
  const caps = (await capabilities).body.capabilities;
  assert.ok(Array.isArray(caps.exceptionBreakpointFilters), 'the agent capabilities reach the editor');
  assert.equal(caps.longreach, undefined, 'the handshake object stays in the bridge');
  await initialized;

  const call = lineOf('stepping.py', 'CALL-DOUBLE');
  const set = await client.setBreakpointsRequest({ source: { path: SCRIPT }, breakpoints: [{ line: call }] });
  assert.equal(set.body.breakpoints[0]?.verified, true);
  await client.setExceptionBreakpointsRequest({ filters: [] });
  const stopped = client.waitForEvent('stopped');
  await client.configurationDoneRequest();
  const stop = (await stopped).body as { reason: string; threadId: number };
  assert.equal(stop.reason, 'breakpoint');

  const stack = await client.stackTraceRequest({ threadId: stop.threadId });
  const top = stack.body.stackFrames[0]!;
  assert.equal(top.name, 'compute');
  assert.equal(top.line, call);
  assert.equal(top.source?.path, SCRIPT);

  const scopes = await client.scopesRequest({ frameId: top.id });
  const locals = scopes.body.scopes[0]!;
  const vars = await client.variablesRequest({ variablesReference: locals.variablesReference });
  const x = vars.body.variables.find((v) => v.name === 'x');
  assert.equal(x?.value, '10');

  const evaluated = await client.evaluateRequest({ expression: 'x * 3 + len(values)', frameId: top.id, context: 'repl' });
  assert.equal(evaluated.body.result, '100030');

  let next = client.waitForEvent('stopped');
  await client.stepInRequest({ threadId: stop.threadId });
  let step = (await next).body as { reason: string; threadId: number };
  assert.equal(step.reason, 'step');
  let frame = (await client.stackTraceRequest({ threadId: step.threadId })).body.stackFrames[0]!;
  assert.equal(frame.name, 'double');
  assert.equal(frame.line, lineOf('helper_mod.py', 'IN-DOUBLE'));

  next = client.waitForEvent('stopped');
  await client.stepOutRequest({ threadId: step.threadId });
  step = (await next).body as { reason: string; threadId: number };
  frame = (await client.stackTraceRequest({ threadId: step.threadId })).body.stackFrames[0]!;
  assert.equal(frame.name, 'compute');
  assert.equal(frame.line, lineOf('stepping.py', 'AFTER-DOUBLE'));
  const y = await client.evaluateRequest({ expression: 'y', frameId: frame.id, context: 'watch' });
  assert.equal(y.body.result, '20');
  next = client.waitForEvent('stopped');
  await client.nextRequest({ threadId: step.threadId });
  step = (await next).body as { reason: string; threadId: number };
  frame = (await client.stackTraceRequest({ threadId: step.threadId })).body.stackFrames[0]!;
  assert.equal(frame.line, lineOf('stepping.py', 'for i in range(5)'));

  await client.disconnectRequest({});
  assert.equal(await agent.exited, 0, agent.stderr());
  assert.match(agent.stdout(), /finished/);
}

test('tcp:// with secretEnv: break, stack, variables, evaluate, step, detach and the program finishes', { timeout: 60_000 }, async (t) => {
  const agent = await launchAgent(t, ['stepping.py']);
  const bridge = startStdioBridge(t, { LR_BRIDGE_SECRET: 's3cret' });
  await debugStepping(bridge.client, { qualifier: `tcp://127.0.0.1:${agent.port}`, secretEnv: 'LR_BRIDGE_SECRET' }, agent);
  assert.doesNotMatch(bridge.stderr(), /s3cret/);
});

test('tcps:// with secretFile and a pinned fingerprint, pathMappings forwarded', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const ca = await createTestCa();
  const leaf = await ca.issue(['127.0.0.1']);
  const cert = writeTemp(dir, 'agent.crt', leaf.certPem);
  const key = writeTemp(dir, 'agent.key', leaf.keyPem);
  const secretFile = writeTemp(dir, 'secret', 's3cret\n');
  const fingerprint = fingerprintOf(new X509Certificate(leaf.certPem).raw);
  const agent = await launchAgent(t, ['stepping.py'], { extra: ['--wait', '--certfile', cert, '--keyfile', key] });
  const bridge = startStdioBridge(t);
  await debugStepping(
    bridge.client,
    { qualifier: `tcps://127.0.0.1:${agent.port}`, secretFile, fingerprint, pathMappings: [{ localRoot: PYTHON_FIXTURES, remoteRoot: PYTHON_FIXTURES }] },
    agent,
  );
});

test('--port mode: an editor connects over TCP; losing the agent ends the session with a terminated event', { timeout: 60_000 }, async (t) => {
  const agent = await launchAgent(t, ['stepping.py']);
  const bridge = await startPortBridge(t, { LR_BRIDGE_SECRET: 's3cret' });
  const client = new BridgeClient();
  await client.start(bridge.port);
  (client as unknown as { _socket: import('node:net').Socket })._socket.on('error', () => undefined);
  await client.initializeRequest({ adapterID: 'longreach', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = client.waitForEvent('initialized');
  await client.attachRequest({ qualifier: `tcp://127.0.0.1:${agent.port}`, secretEnv: 'LR_BRIDGE_SECRET' } as never);
  await initialized;
  await client.setBreakpointsRequest({ source: { path: SCRIPT }, breakpoints: [{ line: lineOf('stepping.py', 'CALL-DOUBLE') }] });
  const stopped = client.waitForEvent('stopped');
  await client.configurationDoneRequest();
  const stop = (await stopped).body as { threadId: number };
  const threads = await client.threadsRequest();
  assert.ok(threads.body.threads.some((th) => th.id === stop.threadId));
  const terminated = client.waitForEvent('terminated');
  agent.child.kill('SIGKILL');
  await terminated;
  const after = await client.raw('threads');
  assert.equal(after.success, false, 'requests after the agent is gone get an error, not silence');
  await client.stop();
});

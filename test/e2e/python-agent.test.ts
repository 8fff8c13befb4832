// The Python agent end to end: real Python processes, driven by the client library over real sockets.
// (Scenarios shared with the Node agent live in test/conformance/; these are the Python-specific ones.)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, type ClientSession } from '../../src/client/connect.js';
import { freePort, launchAgent, PYTHON_FIXTURES, spawnPython, waitForPort } from '../helpers/python-agent.js';
import { ROOT } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';

function lineOf(file: string, marker: string): number {
  const index = readFileSync(join(PYTHON_FIXTURES, file), 'utf8').split('\n').findIndex((l) => l.includes(marker));
  assert.ok(index >= 0, `${marker} in ${file}`);
  return index + 1;
}

/** attach → breakpoints → configurationDone; resolves once configured. */
// Generous bounds: these machines are shared, and a wait that runs out is a failure, not a measurement.
const TIMEOUT_MS = 30_000;

async function attach(qualifier: string, breakpoints: Record<string, object[]> = {}, exceptionFilters: string[] = []): Promise<ClientSession> {
  const session = await connect(qualifier, { timeoutMs: TIMEOUT_MS });
  const initialized = session.waitForEvent('initialized');
  await session.request('attach', {});
  await initialized;
  for (const [file, bps] of Object.entries(breakpoints)) {
    const body = await session.request('setBreakpoints', { source: { path: join(PYTHON_FIXTURES, file) }, breakpoints: bps });
    for (const bp of body.breakpoints) assert.equal(bp.verified, true, JSON.stringify(bp));
  }
  await session.request('setExceptionBreakpoints', { filters: exceptionFilters });
  return session;
}

/**
 * Sets the BREAK-TICK breakpoint in threads_before.py, configures, and returns the stopped event. The worker thread
 * is already running, so it stops as soon as the breakpoint exists, before configurationDone: the listener must be
 * in place before setBreakpoints (one added after it missed the event whenever the worker got there first).
 */
async function breakInRunningThread(session: ClientSession) {
  const stopped = session.waitForEvent('stopped');
  const { breakpoints } = await session.request('setBreakpoints', { source: { path: join(PYTHON_FIXTURES, 'threads_before.py') }, breakpoints: [{ line: lineOf('threads_before.py', 'BREAK-TICK') }] });
  assert.equal(breakpoints[0].verified, true, JSON.stringify(breakpoints[0]));
  await session.request('configurationDone');
  return stopped;
}

async function topFrame(session: ClientSession, threadId: number) {
  const { stackFrames } = await session.request('stackTrace', { threadId, levels: 1 });
  return stackFrames[0];
}

test('a thread started before enable_attach stops at a breakpoint; all threads stop together; detach lets it finish', async (t) => {
  const port = await freePort();
  const proc = spawnPython(t, ['threads_before.py'], { env: { LR_TEST_SECRET: 's3cret', LR_TEST_PORT: String(port) } });
  await waitForPort(port, proc.child);
  const session = await attach(`tcp://s3cret@127.0.0.1:${port}`);
  const stop = await breakInRunningThread(session);
  assert.equal(stop.reason, 'breakpoint');
  assert.equal(stop.allThreadsStopped, true);
  const { threads } = await session.request('threads');
  const names = threads.map((th: { name: string }) => th.name).sort();
  assert.deepEqual(names, ['MainThread', 'early-worker'], 'agent threads are hidden');
  const worker = threads.find((th: { name: string }) => th.name === 'early-worker');
  assert.equal(stop.threadId, worker.id);
  const frame = await topFrame(session, stop.threadId);
  assert.equal(frame.name, 'tick');
  assert.equal(frame.line, lineOf('threads_before.py', 'BREAK-TICK'));
  await session.disconnect();
  assert.equal(await proc.exited, 0, proc.stderr());
  assert.match(proc.stdout(), /worker ticked True/);
});

test('exception breakpoints: raised stops at a caught exception, uncaught at the one that ends the program', async (t) => {
  const proc = await launchAgent(t, ['exceptions.py']);
  const session = await attach(`tcp://s3cret@127.0.0.1:${proc.port}`, {}, ['raised', 'uncaught']);
  let stopped = session.waitForEvent('stopped');
  await session.request('configurationDone');
  let stop = await stopped;
  assert.equal(stop.reason, 'exception');
  assert.equal((await topFrame(session, stop.threadId)).line, lineOf('exceptions.py', 'RAISE-CAUGHT'));
  const caught = await session.request('exceptionInfo', { threadId: stop.threadId });
  assert.match(caught.exceptionId, /ValueError/);
  assert.match(caught.description, /bad value 3/);

  await session.request('setExceptionBreakpoints', { filters: ['uncaught'] });
  stopped = session.waitForEvent('stopped');
  await session.request('continue', { threadId: stop.threadId });
  stop = await stopped;
  assert.equal(stop.reason, 'exception');
  const uncaught = await session.request('exceptionInfo', { threadId: stop.threadId });
  assert.match(uncaught.exceptionId, /RuntimeError/);
  assert.match(uncaught.description, /uncaught 42/);
  const exited = session.waitForEvent('exited', { timeoutMs: 10_000 }).catch(() => null);
  await session.request('continue', { threadId: stop.threadId });
  await exited;
  assert.equal(await proc.exited, 1);
  assert.match(proc.stderr(), /RuntimeError: uncaught 42/, 'the uncaught traceback is printed as python would');
});

test('stepping across modules, hit counts, log points, paging a big list, evaluate, setVariable, remote source', async (t) => {
  const proc = await launchAgent(t, ['stepping.py']);
  const q = `tcp://s3cret@127.0.0.1:${proc.port}`;
  const session = await attach(q, {
    'stepping.py': [
      { line: lineOf('stepping.py', 'CALL-DOUBLE') },
      { line: lineOf('stepping.py', 'LOOP'), hitCondition: '3' },
    ],
    'helper_mod.py': [{ line: lineOf('helper_mod.py', 'IN-DOUBLE') + 1, logMessage: 'r is {r}' }],
  });
  const outputs: string[] = [];
  session.on('event', (name, body: any) => name === 'output' && outputs.push(body.output));
  let stopped = session.waitForEvent('stopped');
  await session.request('configurationDone');
  let stop = await stopped;
  const threadId = stop.threadId;
  assert.equal((await topFrame(session, threadId)).line, lineOf('stepping.py', 'CALL-DOUBLE'));

  const step = async (command: string) => {
    const next = session.waitForEvent('stopped');
    await session.request(command, { threadId });
    const s = await next;
    assert.equal(s.reason, 'step');
    return topFrame(session, threadId);
  };
  let frame = await step('stepIn');
  assert.equal(frame.name, 'double');
  assert.match(frame.source.path, /helper_mod\.py$/);
  frame = await step('stepOut');
  assert.equal(frame.name, 'compute');
  // Back in the caller: on the call's line (the assignment is unfinished) or already on the next line.
  assert.ok([lineOf('stepping.py', 'CALL-DOUBLE'), lineOf('stepping.py', 'AFTER-DOUBLE')].includes(frame.line), `stepOut landed on ${frame.line}`);
  if (frame.line === lineOf('stepping.py', 'CALL-DOUBLE')) frame = await step('next');
  assert.equal(frame.line, lineOf('stepping.py', 'AFTER-DOUBLE'));
  assert.ok(outputs.some((o) => o.includes('r is 20')), `log point output in ${JSON.stringify(outputs)}`);

  const { scopes } = await session.request('scopes', { frameId: frame.id });
  const locals = await session.request('variables', { variablesReference: scopes[0].variablesReference });
  const values = locals.variables.find((v: { name: string }) => v.name === 'values');
  assert.equal(values.indexedVariables, 100000);
  const page = await session.request('variables', { variablesReference: values.variablesReference, filter: 'indexed', start: 50000, count: 3 });
  assert.deepEqual(page.variables.map((v: { name: string; value: string }) => [v.name, v.value]), [['50000', '50000'], ['50001', '50001'], ['50002', '50002']]);

  assert.equal((await session.request('evaluate', { expression: 'y * 10', frameId: frame.id, context: 'watch' })).result, '200');
  await session.request('evaluate', { expression: 'x = 1000', frameId: frame.id, context: 'repl' });
  const setY = await session.request('setVariable', { variablesReference: scopes[0].variablesReference, name: 'y', value: '7' });
  assert.equal(setY.value, '7');
  await assert.rejects(session.request('evaluate', { expression: 'undefined_name', frameId: frame.id, context: 'watch' }), (err: any) => /undefined_name/.test(err.message));

  const source = await session.request('source', { source: { path: join(PYTHON_FIXTURES, 'helper_mod.py') } });
  assert.equal(source.content, readFileSync(join(PYTHON_FIXTURES, 'helper_mod.py'), 'utf8'));

  stopped = session.waitForEvent('stopped');
  await session.request('continue', { threadId });
  stop = await stopped;
  const loopFrame = await topFrame(session, threadId);
  assert.equal(loopFrame.line, lineOf('stepping.py', 'LOOP'));
  const x = await session.request('evaluate', { expression: 'x, y, i', frameId: loopFrame.id, context: 'watch' });
  assert.equal(x.result, '(1001, 7, 2)', 'x = 1000 and y = 7 were written back; the third hit has i == 2');
  await session.disconnect();
  assert.equal(await proc.exited, 0);
  assert.match(proc.stdout(), /finished/);
});

test('a client killed while the program is stopped counts as a detach: the program resumes and a new client can attach', async (t) => {
  const proc = await launchAgent(t, ['stepping.py']);
  const q = `tcp://s3cret@127.0.0.1:${proc.port}`;
  const script = `
    const { connect } = await import(${JSON.stringify(join(ROOT, 'dist/src/client/index.js'))});
    const s = await connect(${JSON.stringify(q)});
    const init = s.waitForEvent('initialized');
    await s.request('attach', {});
    await init;
    await s.request('setBreakpoints', { source: { path: ${JSON.stringify(join(PYTHON_FIXTURES, 'stepping.py'))} }, breakpoints: [{ line: ${lineOf('stepping.py', 'LOOP')} }] });
    const stopped = s.waitForEvent('stopped');
    await s.request('configurationDone');
    await stopped;
    process.stdout.write('stopped\\n');
    setInterval(() => {}, 1000);`;
  const client = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => client.kill('SIGKILL'));
  await new Promise<void>((resolve) => client.stdout.on('data', (d) => String(d).includes('stopped') && resolve()));
  client.kill('SIGKILL');
  assert.equal(await proc.exited, 0, 'the program resumed and finished');
  assert.match(proc.stdout(), /finished/);
});

test('re-attach after detach, and a wrong secret is refused without disturbing anything', async (t) => {
  const port = await freePort();
  const proc = spawnPython(t, ['threads_before.py'], { env: { LR_TEST_SECRET: 's3cret', LR_TEST_PORT: String(port) } });
  await waitForPort(port, proc.child);
  const first = await attach(`tcp://s3cret@127.0.0.1:${port}`);
  await first.disconnect();
  const second = await attach(`tcp://s3cret@127.0.0.1:${port}`);
  const stop = await breakInRunningThread(second);
  assert.equal(stop.reason, 'breakpoint');
  await assert.rejects(connect(`tcp://wrong@127.0.0.1:${port}`, { timeoutMs: TIMEOUT_MS }), { code: 'LR_AUTH_FAILED' });
  assert.equal((await topFrame(second, stop.threadId)).name, 'tick', 'the attached session is undisturbed');
  await second.disconnect();
  assert.equal(await proc.exited, 0, proc.stderr());
});

test('TLS with a certificate from `longreach cert create`, pinned by fingerprint', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-py-tls-'));
  const created = await runCli(['cert', 'create', '--host', '127.0.0.1', '--out', dir]);
  assert.equal(created.code, 0, created.stderr);
  const fingerprint = /sha256:[0-9a-f]{64}/.exec(created.stdout)?.[0];
  assert.ok(fingerprint, created.stdout);
  const proc = await launchAgent(t, ['stepping.py'], { extra: ['--wait', '--certfile', join(dir, 'cert.pem'), '--keyfile', join(dir, 'key.pem')] });
  await assert.rejects(connect(`tcp://s3cret@127.0.0.1:${proc.port}`, { timeoutMs: TIMEOUT_MS }), (err: any) => /tcps:\/\//.test(err.message));
  const session = await attach(`tcps://s3cret@127.0.0.1:${proc.port}?fingerprint=${fingerprint}`, { 'helper_mod.py': [{ line: lineOf('helper_mod.py', 'IN-DOUBLE') }] });
  const stopped = session.waitForEvent('stopped');
  await session.request('configurationDone');
  const stop = await stopped;
  assert.equal((await topFrame(session, stop.threadId)).name, 'double');
  await session.disconnect();
  assert.equal(await proc.exited, 0);
});

test('wait_for_attach(timeout) returns False when nobody comes, and the exit code is preserved', async (t) => {
  const proc = spawnPython(t, ['wait_timeout.py']);
  assert.equal(await proc.exited, 3);
  assert.equal(proc.stdout().trim(), 'result False waited True attached False');
  assert.equal(proc.stderr(), '', 'the agent printed nothing');
});


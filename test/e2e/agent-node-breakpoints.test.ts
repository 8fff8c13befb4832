// Function breakpoints in the Node agent: names reachable from the global scope, a CommonJS module's exports,
// or (while stopped) a frame's scope bind and stop; other names come back unverified with advice.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import type { Program } from '../conformance/harness.js';
import { FIXTURES, attachTo, launch, run, within } from './agent-node-helpers.js';

const FUNCTIONS = join(FIXTURES, 'functions/app.cjs');
const APP = join(FIXTURES, 'conformance/app.mjs');

async function runFunctions(t: TestContext): Promise<Program> {
  const program = run(t, FUNCTIONS);
  await within((async () => { while (!program.stdout().includes('port')) await new Promise((r) => setTimeout(r, 20)); })(), 15_000, 'address');
  program.port = (JSON.parse(program.stdout().split('\n')[0]!) as { port: number }).port;
  return program;
}

test('function breakpoints on a global path and a CommonJS export stop there; a condition filters calls', async (t) => {
  const program = await runFunctions(t);
  const s = await attachTo(t, program, 's3cret');
  const { breakpoints } = await s.request('setFunctionBreakpoints', { breakpoints: [{ name: 'tools.greet', condition: "who === 'n1'" }, { name: 'shout' }] });
  assert.deepEqual(breakpoints.map((b: { verified: boolean }) => b.verified), [true, true], JSON.stringify(breakpoints));
  let stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  let event = await stopped;
  assert.equal(event.reason, 'function breakpoint');
  assert.deepEqual(event.hitBreakpointIds, [breakpoints[1].id]);
  let { stackFrames } = await s.request('stackTrace', { threadId: 1, levels: 1 });
  assert.equal(stackFrames[0].name, 'shout');
  assert.equal(stackFrames[0].source.path, FUNCTIONS);
  // Only the shout breakpoint's first hit and greet('n1') stop: drop shout, then continue.
  await s.request('setFunctionBreakpoints', { breakpoints: [{ name: 'tools.greet', condition: "who === 'n1'" }] });
  stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('continue', { threadId: 1 });
  event = await stopped;
  assert.equal(event.reason, 'function breakpoint');
  ({ stackFrames } = await s.request('stackTrace', { threadId: 1, levels: 1 }));
  assert.equal(stackFrames[0].name, 'greet');
  assert.ok(Math.abs(stackFrames[0].line - markerLine(FUNCTIONS, 'greet-body')) <= 1, JSON.stringify(stackFrames[0]));
  const who = await s.request('evaluate', { expression: 'who', frameId: stackFrames[0].id, context: 'watch' });
  assert.equal(who.result, '"n1"');
  await s.disconnect();
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
  assert.match(program.stdout(), /functions hi n0 S0 hi n1 S1 hi n2 S2/);
});

test('unknown or malformed function names come back unverified with advice; module-scope names resolve while stopped', async (t) => {
  const program = await launch(t, APP);
  const s = await attachTo(t, program);
  const first = await s.request('setFunctionBreakpoints', { breakpoints: [{ name: 'noSuchFunction' }, { name: 'a b(' }, { name: 'helper' }] });
  assert.deepEqual(first.breakpoints.map((b: { verified: boolean }) => b.verified), [false, false, false]);
  assert.match(first.breakpoints[0].message, /no function named noSuchFunction is reachable from the global scope/);
  assert.match(first.breakpoints[1].message, /is not a function name/);
  await s.request('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: markerLine(APP, 'call-compute') }] });
  let stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  assert.equal((await stopped).reason, 'breakpoint');
  // Stopped in app.mjs, which imports helper: the frame's scope reaches it.
  const again = await s.request('setFunctionBreakpoints', { breakpoints: [{ name: 'helper', hitCondition: '3' }] });
  assert.equal(again.breakpoints[0].verified, true, JSON.stringify(again));
  await s.request('setBreakpoints', { source: { path: APP }, breakpoints: [] });
  stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('continue', { threadId: 1 });
  assert.equal((await stopped).reason, 'function breakpoint');
  const { stackFrames } = await s.request('stackTrace', { threadId: 1, levels: 1 });
  assert.equal(stackFrames[0].name, 'helper');
  const i = await s.request('evaluate', { expression: 'i', frameId: stackFrames[0].id, context: 'watch' });
  assert.equal(i.result, '2');
  await s.disconnect();
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
});

test('userUnhandled is not advertised; setting it is refused with a reason while the other filters apply', async (t) => {
  const program = await launch(t, APP, ['uncaught']);
  const s = await attachTo(t, program);
  const filters = (s.hello.capabilities.exceptionBreakpointFilters as { filter: string }[]).map((f) => f.filter);
  assert.deepEqual(filters.sort(), ['raised', 'uncaught']);
  const { breakpoints } = await s.request('setExceptionBreakpoints', { filters: ['userUnhandled', 'uncaught'] });
  assert.equal(breakpoints[0].verified, false);
  assert.match(breakpoints[0].message, /userUnhandled filter is not supported by the Node\.js agent.*use uncaught/);
  assert.equal(breakpoints[1].verified, true);
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  const event = await stopped;
  assert.equal(event.reason, 'exception');
  assert.match(event.text, /boom uncaught/);
  await s.disconnect();
  await within(program.exited, 15_000, 'program end');
});

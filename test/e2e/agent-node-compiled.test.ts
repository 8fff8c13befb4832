// Compiled breakpoints in the Node agent (worker/script-edits.ts): conditional breakpoints, hit counts and log
// points are inserted into the script through the inspector; what the program's functions look like
// (Function.prototype.toString) shows whether a condition is compiled in. Real program, real DAP client.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { AGENTS, markerLine } from '../conformance/agents.js';
import { attach, connectTo, type Debugger } from '../conformance/harness.js';
import { BUILT_FIXTURES, FIXTURES, launch, within } from './agent-node-helpers.js';

const APP = join(FIXTURES, 'compiled/app.mjs');
const TS_LOOP = join(FIXTURES, 'ts/loop.ts');
const TS_LOOP_JS = join(BUILT_FIXTURES, 'ts/loop.js');
const NODE = { ...AGENTS.find((a) => a.lang === 'node')!, app: APP };
const line = (marker: string, file = APP): number => markerLine(file, marker);

/** The program stopped at `call-work` (its top level, between rounds). */
async function stoppedBetweenRounds(t: TestContext, args: string[] = []): Promise<{ dbg: Debugger; program: Awaited<ReturnType<typeof launch>> }> {
  const program = await launch(t, APP, args);
  const dbg = await attach(t, NODE, program);
  await dbg.setBreakpoints(APP, [{ line: line('call-work') }]);
  await dbg.s.request('configurationDone');
  await dbg.expectStopped('breakpoint');
  return { dbg, program };
}

async function compiledIn(dbg: Debugger, fn: string, text = 'debugger'): Promise<boolean> {
  return (await dbg.evaluate(`globalThis.fixture.${fn}.toString().includes(${JSON.stringify(text)})`)) === 'true';
}

/**
 * Whether `fn`'s text comes to hold (or not) `text`: the agent compiles conditions in, and takes them out, right
 * after answering setBreakpoints (bounded wait, no timing asserted).
 */
async function becomes(dbg: Debugger, fn: string, wanted: boolean, text = 'debugger'): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await compiledIn(dbg, fn, text)) === wanted) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Continues until the program stops at line `wanted` (passing other stops), for at most `limit` stops. */
async function nextStopAt(dbg: Debugger, wanted: number, limit = 30): Promise<{ body: any; frame: any }> {
  for (let i = 0; i < limit; i++) {
    await dbg.resume();
    const body = await dbg.expectStopped('breakpoint');
    const frame = await dbg.topFrame();
    if (frame.line === wanted) return { body, frame };
  }
  throw new Error(`no stop at line ${wanted} in ${limit} stops`);
}

test('a false condition never stops, a true one stops at the line with its id; the text the client sees is the original', async (t) => {
  const { dbg } = await stoppedBetweenRounds(t);
  const bps = await dbg.setBreakpoints(APP, [{ line: line('call-work') }, { line: line('step-body'), condition: 'i === 3' }]);
  assert.equal(bps[1].verified, true, JSON.stringify(bps));
  assert.ok(await becomes(dbg, 'step', true), 'the condition is compiled into step()');
  const { content } = await dbg.s.request('source', { source: { path: APP } });
  assert.equal(content, readFileSync(APP, 'utf8'), 'source shows the original text');
  const { body, frame } = await nextStopAt(dbg, line('step-body'));
  assert.deepEqual(body.hitBreakpointIds, [bps[1].id]);
  // Where V8's own breakpoint stops: the declaration's initializer.
  assert.equal(frame.column, readFileSync(APP, 'utf8').split('\n')[line('step-body') - 1]!.indexOf('i * 2') + 1);
  assert.equal(await dbg.evaluate('i'), '3');
  // Step on: the next line, as from a V8 breakpoint.
  await dbg.s.request('next', { threadId: 1 });
  await dbg.expectStopped('step');
  assert.equal((await dbg.topFrame()).line, line('step-body') + 1);
});

test('hit counts, log points and a condition that throws', async (t) => {
  const { dbg } = await stoppedBetweenRounds(t);
  const bps = await dbg.setBreakpoints(APP, [
    { line: line('call-work') },
    { line: line('step-body'), logMessage: 'step {i} gives {i * 2}' },
    { line: line('work-end'), hitCondition: '3' },
  ]);
  assert.deepEqual(bps.map((b) => b.verified), [true, true, true], JSON.stringify(bps));
  assert.ok(await becomes(dbg, 'step', true));
  assert.ok(await becomes(dbg, 'work', true), 'two breakpoints compiled into one script');
  // work-end's third hit is in the third round: two call-work stops first, log lines of every step on the way.
  const { body } = await nextStopAt(dbg, line('work-end'));
  assert.deepEqual(body.hitBreakpointIds, [bps[2].id]);
  const logs = dbg.events.filter((e) => e.event === 'output' && e.body.category === 'console').map((e) => e.body.output);
  assert.equal(logs.filter((l) => l === 'step 4 gives 8\n').length, 3, JSON.stringify(logs));
  // A condition that throws: the program stops there, the error is shown, the program never sees it.
  const [, thrower] = await dbg.setBreakpoints(APP, [{ line: line('call-work') }, { line: line('step-body'), condition: 'nosuch.value > 1' }]);
  assert.ok(await becomes(dbg, 'step', true, 'nosuch'));
  const { body: stop } = await nextStopAt(dbg, line('step-body'));
  assert.deepEqual(stop.hitBreakpointIds, [thrower.id]);
  const errors = dbg.events.filter((e) => e.event === 'output' && /breakpoint condition raised ReferenceError: nosuch is not defined/.test(e.body.output));
  assert.equal(errors.length, 1, JSON.stringify(dbg.events.slice(-5)));
});

test('two breakpoints in one script: both stop; removing the conditional one gives the original back and the other still stops', async (t) => {
  const { dbg } = await stoppedBetweenRounds(t);
  const bps = await dbg.setBreakpoints(APP, [{ line: line('call-work') }, { line: line('step-body'), condition: 'i === 2' }, { line: line('work-end') }]);
  assert.ok(await becomes(dbg, 'step', true));
  let { body } = await nextStopAt(dbg, line('step-body'));
  assert.deepEqual(body.hitBreakpointIds, [bps[1].id]);
  ({ body } = await nextStopAt(dbg, line('work-end')));
  assert.deepEqual(body.hitBreakpointIds, [bps[2].id]);
  const again = await dbg.setBreakpoints(APP, [{ line: line('call-work') }, { line: line('work-end') }]);
  assert.ok(await becomes(dbg, 'step', false), 'step() has its own text back');
  ({ body } = await nextStopAt(dbg, line('work-end')));
  assert.deepEqual(body.hitBreakpointIds, [again[1].id]);
  ({ body } = await nextStopAt(dbg, line('call-work')));
  assert.deepEqual(body.hitBreakpointIds, [again[0].id]);
  // A function breakpoint survives an edit of its script (V8 drops it; the agent binds it again).
  const { breakpoints: fbps } = await dbg.s.request('setFunctionBreakpoints', { breakpoints: [{ name: 'fixture.step' }] });
  assert.equal(fbps[0].verified, true, JSON.stringify(fbps));
  await dbg.setBreakpoints(APP, [{ line: line('work-end'), condition: 'total === 20' }]);
  assert.ok(await becomes(dbg, 'work', true));
  await dbg.resume();
  body = await dbg.expectStopped('function breakpoint');
  assert.deepEqual(body.hitBreakpointIds, [fbps[0].id]);
  await dbg.s.request('setFunctionBreakpoints', { breakpoints: [] });
  await dbg.resume();
  body = await dbg.expectStopped('breakpoint');
  assert.equal((await dbg.topFrame()).line, line('work-end'));
});

test('a breakpoint in a function on the stack keeps V8\'s condition, then is compiled in once the function has returned', async (t) => {
  const { dbg } = await stoppedBetweenRounds(t);
  // Stop inside work(), then put a conditional breakpoint in it: V8 refuses to edit a running function.
  await dbg.setBreakpoints(APP, [{ line: line('work-step') }]);
  await dbg.resume();
  await dbg.expectStopped('breakpoint');
  assert.equal(await dbg.evaluate('i'), '0');
  const [cond] = await dbg.setBreakpoints(APP, [{ line: line('work-step'), condition: 'i === 3' }]);
  assert.equal(cond.verified, true);
  await dbg.resume();
  let body = await dbg.expectStopped('breakpoint');
  assert.deepEqual(body.hitBreakpointIds, [cond.id]);
  assert.equal(await dbg.evaluate('i'), '3', 'V8\'s own condition stopped this round');
  assert.equal(await compiledIn(dbg, 'work'), false, 'work() has run all along: not edited');
  // Later rounds: the edit goes in once work() has returned; the condition still holds exactly at i === 3.
  let compiled = false;
  for (let round = 0; round < 20 && !compiled; round++) {
    await dbg.resume();
    body = await dbg.expectStopped('breakpoint');
    assert.deepEqual(body.hitBreakpointIds, [cond.id]);
    assert.equal(await dbg.evaluate('i'), '3');
    compiled = await compiledIn(dbg, 'work');
  }
  assert.ok(compiled, 'the condition was compiled into work() after it returned');
});

test('an ES module\'s top level keeps V8\'s condition; its functions are compiled', async (t) => {
  const { dbg } = await stoppedBetweenRounds(t);
  const bps = await dbg.setBreakpoints(APP, [{ line: line('top-level'), condition: 'round === 2' }, { line: line('work-end'), condition: 'total === 20', hitCondition: '2' }]);
  assert.deepEqual(bps.map((b) => b.verified), [true, true]);
  // work() holds work-end's statement (two `debugger`s: the condition's and the one for an error), the top level none.
  assert.ok(await becomes(dbg, 'work', true));
  assert.equal(await dbg.evaluate("globalThis.fixture.work.toString().split('debugger').length - 1"), '2');
  await dbg.resume();
  let body = await dbg.expectStopped('breakpoint');
  assert.deepEqual(body.hitBreakpointIds, [bps[1].id]);
  assert.equal((await dbg.topFrame()).line, line('work-end'));
  await dbg.resume();
  body = await dbg.expectStopped('breakpoint');
  assert.deepEqual(body.hitBreakpointIds, [bps[0].id]);
  assert.equal(await dbg.evaluate('round'), '2');
});

test('source-mapped TypeScript: the condition is compiled into the generated script; stops and sources are the originals', async (t) => {
  const program = await launch(t, TS_LOOP_JS);
  const dbg = await attach(t, { ...NODE, app: TS_LOOP }, program);
  // Not loaded yet: placed (and compiled in) when the script loads, before its first line runs.
  const [bp] = await dbg.setBreakpoints(TS_LOOP, [{ line: line('ts-scale', TS_LOOP), condition: 'n === 3' }]);
  await dbg.s.request('configurationDone');
  const body = await dbg.expectStopped('breakpoint');
  assert.deepEqual(body.hitBreakpointIds, [bp.id]);
  const frame = await dbg.topFrame();
  assert.equal(frame.source.path, TS_LOOP);
  assert.equal(frame.line, line('ts-scale', TS_LOOP));
  assert.equal(frame.column, readFileSync(TS_LOOP, 'utf8').split('\n')[line('ts-scale', TS_LOOP) - 1]!.indexOf('n * 2') + 1);
  assert.equal(await dbg.evaluate('n'), '3');
  for (let i = 0; i < 100 && (await dbg.evaluate("globalThis.scale.toString().includes('debugger')")) !== 'true'; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(await dbg.evaluate("globalThis.scale.toString().includes('debugger')"), 'true');
  const { content } = await dbg.s.request('source', { source: { path: TS_LOOP_JS } });
  assert.equal(content, readFileSync(TS_LOOP_JS, 'utf8'));
});

test('detach gives every script its original text back', async (t) => {
  const { dbg, program } = await stoppedBetweenRounds(t);
  await dbg.setBreakpoints(APP, [{ line: line('call-work') }, { line: line('step-body'), condition: 'i === 99' }, { line: line('work-end'), logMessage: 'x' }]);
  assert.ok(await becomes(dbg, 'step', true));
  assert.ok(await becomes(dbg, 'work', true));
  await dbg.s.request('disconnect', {});
  dbg.s.close();
  // Attach again: the functions are as the program wrote them.
  const s2 = await within(connectTo(program), 15_000, 'second connection');
  const again = await attach(t, NODE, program, s2);
  await again.setBreakpoints(APP, [{ line: line('call-work') }]);
  await again.s.request('configurationDone');
  await again.expectStopped('breakpoint');
  assert.equal(await compiledIn(again, 'step'), false);
  assert.equal(await compiledIn(again, 'work'), false);
});

test('with the raised-exception filter on, a compiled condition that throws is one breakpoint stop, not an exception in agent code', async (t) => {
  const { dbg } = await stoppedBetweenRounds(t);
  await dbg.s.request('setExceptionBreakpoints', { filters: ['raised'] });
  const [, thrower] = await dbg.setBreakpoints(APP, [{ line: line('call-work') }, { line: line('step-body'), condition: 'i === 2 && nosuch' }]);
  assert.ok(await becomes(dbg, 'step', true, 'nosuch'));
  await dbg.resume();
  const body = await dbg.expectStopped('breakpoint');
  assert.deepEqual(body.hitBreakpointIds, [thrower.id]);
  const frame = await dbg.topFrame();
  assert.equal(frame.line, line('step-body'));
  assert.equal(await dbg.evaluate('i'), '2');
  // A log point removed while its function runs (its insert cannot come out yet) says nothing more.
  await dbg.s.request('setExceptionBreakpoints', { filters: [] });
  await dbg.setBreakpoints(APP, [{ line: line('call-work') }]);
  await nextStopAt(dbg, line('call-work'));
  await dbg.setBreakpoints(APP, [{ line: line('call-work') }, { line: line('work-end'), logMessage: 'end {total}' }, { line: line('work-step') }]);
  assert.ok(await becomes(dbg, 'work', true, 'end '));
  await nextStopAt(dbg, line('work-step'));
  await dbg.setBreakpoints(APP, [{ line: line('call-work') }]);
  const said = (): number => dbg.events.filter((e) => e.event === 'output' && e.body.output === 'end 20\n').length;
  const before = said();
  await nextStopAt(dbg, line('call-work'));
  await nextStopAt(dbg, line('call-work'));
  assert.equal(said(), before, 'no output from the removed log point');
  assert.ok(await becomes(dbg, 'work', false), 'and its insert comes out once work() has returned');
});

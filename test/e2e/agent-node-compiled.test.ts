// Compiled breakpoints in the Node agent (worker/script-edits.ts): conditional breakpoints, hit counts and log
// points are inserted into the script through the inspector; what the program's functions look like
// (Function.prototype.toString) shows whether a condition is compiled in. Real program, real DAP client.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// ---- V8's debugger off while every breakpoint is compiled in (session.ts #updateDebugger, prepareStop) ----------
const ASYNC_APP = join(FIXTURES, 'compiled/async.mjs');

/** Whether V8's Debugger domain is now off, by the agent's CDP log: the last enable or disable it sent. */
function debuggerOff(logFile: string): boolean {
  const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  const calls = [...text.matchAll(/Debugger\.(enable|disable) answered/g)].map((m) => m[1]);
  return calls.length > 0 && calls[calls.length - 1] === 'disable';
}

/** Waits (bounded, no timing asserted) until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within 10 s`);
}

test('async code: V8\'s debugger goes off while only compiled breakpoints exist; a true condition stops at its line with its id, steps, and it goes off again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-compiled-async-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'cdp.log');
  const program = await launch(t, ASYNC_APP, [], { LONGREACH_LOG: 'cdp', LONGREACH_LOG_FILE: logFile });
  const dbg = await attach(t, { ...NODE, app: ASYNC_APP }, program);
  const body = line('async-body', ASYNC_APP);
  const bps = await dbg.setBreakpoints(ASYNC_APP, [{ line: body, condition: 'id === globalThis.fixture.stopAt' }, { line: line('async-next', ASYNC_APP), logMessage: 'doubled {doubled}' }]);
  await dbg.s.request('configurationDone'); // the module loads now: its breakpoints are placed, then compiled in
  const running = async (expression: string): Promise<string> => (await dbg.s.request('evaluate', { expression, context: 'repl' })).result as string;
  const logged = (): string[] => dbg.events.filter((e) => e.event === 'output' && e.body.category === 'console').map((e) => e.body.output);
  await until(async () => (await running("globalThis.fixture?.handle.toString().split('debugger').length - 1")) === '4', 'both breakpoints compiled into handle()');
  await until(() => debuggerOff(logFile), "V8's debugger switched off");
  // Log points print with the debugger off, and do not switch it on; the false condition never stops.
  const before = logged().length;
  await until(() => logged().length >= before + 5, 'log point output');
  assert.ok(logged().every((l) => /^doubled \d+\n$/.test(l)), JSON.stringify(logged().slice(-3)));
  assert.ok(debuggerOff(logFile), 'log points leave the debugger off');
  assert.equal(dbg.events.filter((e) => e.event === 'stopped').length, 0);

  for (let round = 0; round < 2; round++) {
    // The condition comes true a few calls from now: the program stops at the breakpoint's line with its id.
    const target = Number(await running('globalThis.fixture.stopAt = globalThis.fixture.last + 3'));
    const stop = await dbg.expectStopped('breakpoint');
    assert.deepEqual(stop.hitBreakpointIds, [bps[0].id]);
    const frame = await dbg.topFrame();
    assert.equal(frame.line, body);
    assert.equal(frame.column, readFileSync(ASYNC_APP, 'utf8').split('\n')[body - 1]!.indexOf('id * 2') + 1);
    assert.equal(await dbg.evaluate('id'), String(target));
    assert.equal(dbg.events.filter((e) => e.event === 'stopped' && e.body.reason === 'breakpoint').length, round + 1, 'one stop per true condition');
    // Stepping works from there: the next line, then out of the function.
    await dbg.s.request('next', { threadId: 1 });
    await dbg.expectStopped('step');
    assert.equal((await dbg.topFrame()).line, line('async-next', ASYNC_APP));
    assert.equal(await dbg.evaluate('doubled'), String(target * 2));
    await dbg.resume();
    await until(() => debuggerOff(logFile), "V8's debugger off again after the stop");
    assert.ok(logged().includes(`doubled ${target * 2}\n`), 'the log point on the stepped line printed');
  }
  // Detach: the function gets its own text back, and the program runs on unchanged with nobody attached.
  await dbg.s.request('disconnect', {});
  dbg.s.close();
  const s2 = await within(connectTo(program), 15_000, 'second connection');
  const again = await attach(t, { ...NODE, app: ASYNC_APP }, program, s2);
  await again.s.request('configurationDone');
  assert.equal((await again.s.request('evaluate', { expression: "globalThis.fixture.handle.toString().includes('debugger')", context: 'repl' })).result, 'false');
  const last = Number((await again.s.request('evaluate', { expression: 'globalThis.fixture.last', context: 'repl' })).result);
  await until(async () => Number((await again.s.request('evaluate', { expression: 'globalThis.fixture.last', context: 'repl' })).result) > last + 3, 'the program runs on');
  assert.equal(again.events.filter((e) => e.event === 'stopped' || (e.event === 'output' && e.body.category === 'console')).length, 0);
});

test('a plain breakpoint (or an exception filter) keeps V8\'s debugger on beside compiled ones; removing it lets it go off', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-compiled-async-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'cdp.log');
  const program = await launch(t, ASYNC_APP, [], { LONGREACH_LOG: 'cdp,agent', LONGREACH_LOG_FILE: logFile });
  const dbg = await attach(t, { ...NODE, app: ASYNC_APP }, program);
  const body = line('async-body', ASYNC_APP);
  const next = line('async-next', ASYNC_APP);
  await dbg.setBreakpoints(ASYNC_APP, [{ line: body, condition: 'id === globalThis.fixture.stopAt' }]);
  await dbg.s.request('setExceptionBreakpoints', { filters: ['uncaught'] });
  await dbg.s.request('configurationDone');
  const running = async (expression: string): Promise<string> => (await dbg.s.request('evaluate', { expression, context: 'repl' })).result as string;
  await until(async () => (await running("globalThis.fixture?.handle.toString().includes('debugger')")) === 'true', 'compiled into handle()');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(debuggerOff(logFile), false, 'the exception filter needs V8');
  await dbg.s.request('setExceptionBreakpoints', { filters: [] });
  await until(() => debuggerOff(logFile), "V8's debugger off once only the compiled breakpoint is left");
  // A plain breakpoint switches it on and stops through V8; then, with only the compiled one left, a true condition
  // still stops at its line with its id (compiled or, while V8 refuses the edit, through V8's condition).
  const bps = await dbg.setBreakpoints(ASYNC_APP, [{ line: body, condition: 'id === globalThis.fixture.stopAt' }, { line: next }]);
  assert.equal(debuggerOff(logFile), false, 'a plain breakpoint needs V8');
  let stop = await dbg.expectStopped('breakpoint');
  assert.deepEqual(stop.hitBreakpointIds, [bps[1].id]);
  assert.equal((await dbg.topFrame()).line, next);
  const target = Number(await dbg.evaluate('id')) + 2;
  await dbg.evaluate(`globalThis.fixture.stopAt = ${target}`);
  const [cond] = await dbg.setBreakpoints(ASYNC_APP, [{ line: body, condition: 'id === globalThis.fixture.stopAt' }]);
  await dbg.resume();
  stop = await dbg.expectStopped('breakpoint').catch((err: Error) => {
    throw new Error(`${err.message}; agent log: ${readFileSync(logFile, 'utf8').split('\n').filter((l) => !/Debugger\.(getPossibleBreakpoints|setBreakpoint|removeBreakpoint)|Runtime\./.test(l)).slice(-40).join('\n')}`);
  });
  assert.deepEqual(stop.hitBreakpointIds, [cond.id]);
  assert.equal((await dbg.topFrame()).line, body);
  assert.equal(await dbg.evaluate('id'), String(target));
  await dbg.resume();
  await until(() => debuggerOff(logFile), "V8's debugger off again with only the compiled breakpoint").catch((err: Error) => {
    throw new Error(`${err.message}; agent log: ${readFileSync(logFile, 'utf8').split('\n').filter((l) => !/Debugger\.(getPossibleBreakpoints|setBreakpoint|removeBreakpoint)|Runtime\./.test(l)).slice(-40).join('\n')}`);
  });
  assert.equal(await running("globalThis.fixture.handle.toString().includes('debugger')"), 'true');
});

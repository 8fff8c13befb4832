// The Node agent keeps one inspector session with the program's main thread from the first attach to the exit and
// lends it to each debugging session (worker/main.ts). These tests attach, detach and attach again to a real program
// and check that nothing of one session reaches the next: its breakpoints do not hit, its exception filter does not
// stop, a compiled breakpoint's insert its detach could not take out never stops the next session, a stop works
// again; and after the last detach the program ends with its own status, printing nothing of ours (no "Waiting for
// the debugger to disconnect..."), also with LONGREACH_SUBPROCESS=0 and through process.exit().

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ClientSession } from '../../src/client/index.js';
import { markerLine } from '../conformance/agents.js';
import type { Program } from '../conformance/harness.js';
import { attachTo, FIXTURES, launch, within } from './agent-node-helpers.js';

const APP = join(FIXTURES, 'reattach.cjs');
const line = (marker: string): number => markerLine(APP, marker);

async function evaluate(s: ClientSession, expression: string): Promise<string> {
  return ((await s.request('evaluate', { expression, context: 'repl' })) as { result: string }).result;
}

/** Polls (bounded) until `check` holds. */
async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not within 10 s`);
}

/** Every stopped event a session receives. */
function stops(s: ClientSession): { reason: string }[] {
  const seen: { reason: string }[] = [];
  s.on('event', (event: string, body: unknown) => void (event === 'stopped' && seen.push(body as { reason: string })));
  return seen;
}

/** SIGTERM: the program ends by itself with its own status; what it printed is only its own. */
async function endsCleanly(program: Program, status: number, stdout: string): Promise<void> {
  program.child.kill('SIGTERM');
  const code = await within(program.exited, 10_000, 'the program to exit after its last detach');
  assert.equal(code, status, `the program's own exit status (stderr: ${program.stderr()})`);
  assert.equal(program.stdout(), stdout);
  assert.equal(program.stderr(), '', 'nothing of ours on stderr (no "Waiting for the debugger to disconnect...")');
}

async function noLeftovers(t: TestContext, env: NodeJS.ProcessEnv): Promise<void> {
  const program = await launch(t, APP, [], env);
  // Session 1: a breakpoint in work(), the raised-exception filter, a stop with an evaluation; it detaches stopped.
  const first = await attachTo(t, program);
  await first.request('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: line('work') }] });
  await first.request('setExceptionBreakpoints', { filters: ['raised'] });
  const stopped = first.waitForEvent('stopped', { timeoutMs: 10_000 });
  await first.request('configurationDone');
  await stopped;
  assert.equal(await evaluate(first, "({ kept: 'by the first session' })"), 'Object'); // an object the session holds
  await first.disconnect();

  // Session 2: V8's debugger on (a breakpoint on a line that never runs) with nothing else set: the program runs on
  // through work()'s line and its caught exception (each every 5 ms), stopping nowhere.
  const second = await attachTo(t, program);
  const seen = stops(second);
  const [never] = ((await second.request('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: line('never') }] })) as { breakpoints: { verified: boolean }[] }).breakpoints;
  assert.equal(never!.verified, true);
  await second.request('configurationDone');
  const before = Number(await evaluate(second, 'globalThis.fixture?.calls()'));
  await until(async () => Number(await evaluate(second, 'globalThis.fixture?.calls()')) > before + 50, 'work() running on under the second session');
  assert.deepEqual(seen, [], "no stop: neither the first session's breakpoint nor its exception filter is left");
  // A stop works again, and evaluation at it.
  const hit = second.waitForEvent('stopped', { timeoutMs: 10_000 });
  await second.request('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: line('never') }, { line: line('work') }] });
  assert.equal((await hit).reason, 'breakpoint');
  const { stackFrames } = (await second.request('stackTrace', { threadId: 1 })) as { stackFrames: { id: number; line: number }[] };
  assert.equal(stackFrames[0]!.line, line('work'));
  assert.equal(((await second.request('evaluate', { expression: 'n', frameId: stackFrames[0]!.id })) as { result: string }).result, '1');
  await second.disconnect();

  await endsCleanly(program, env.REATTACH_EXIT === 'exit' ? 3 : 7, 'ready\n');
}

test('after detach and re-attach nothing of the first session is left, and a stop works again; the program then exits by itself', { timeout: 60_000 }, async (t) => {
  await noLeftovers(t, {});
});

test('the same with LONGREACH_SUBPROCESS=0 (no session follows worker threads) and a program that ends with process.exit()', { timeout: 60_000 }, async (t) => {
  await noLeftovers(t, { LONGREACH_SUBPROCESS: '0', REATTACH_EXIT: 'exit' });
});

test("a compiled breakpoint's insert that its detach could not take out never stops the next session", { timeout: 60_000 }, async (t) => {
  const program = await launch(t, APP, [], { LONGREACH_SUBPROCESS: '0' });
  const first = await attachTo(t, program);
  await first.request('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: line('later'), condition: 'calls > 0' }] });
  await first.request('configurationDone'); // the script loads now: the breakpoint is placed, then compiled in
  await until(async () => (await evaluate(first, "globalThis.fixture?.later.toString().includes('debugger')")) === 'true', 'the condition compiled into later()');
  // later() starts and waits inside: V8 refuses to give its script its text back while it is suspended there.
  program.child.kill('SIGUSR2');
  await until(async () => (await evaluate(first, 'globalThis.fixture?.waiting')) === 'true', 'later() waiting');
  await first.disconnect();

  const second = await attachTo(t, program);
  const seen = stops(second);
  assert.equal(await evaluate(second, "globalThis.fixture?.later.toString().includes('debugger')"), 'true', "the first session's insert is still in later()");
  // V8's debugger is on for this session (a breakpoint on a line that never runs): a `debugger` statement would stop.
  await second.request('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: line('never') }] });
  await second.request('configurationDone');
  program.child.kill('SIGUSR2'); // later() goes on through the insert, whose condition holds
  // A stop there would hold the program before it prints.
  await until(() => program.stdout().includes('later ran'), 'later() running through the stale insert');
  assert.deepEqual(seen, [], 'no stop at an insert of an earlier session');
  // Still attached: a stop of this session's own works.
  const hit = second.waitForEvent('stopped', { timeoutMs: 10_000 });
  await second.request('setBreakpoints', { source: { path: APP }, breakpoints: [{ line: line('work') }] });
  assert.equal((await hit).reason, 'breakpoint');
  await second.disconnect();
  await endsCleanly(program, 7, 'ready\nlater ran\n');
});

// worker_threads workers debugged as threads of the process (docs/protocol.md 5.2): a real node program under
// `--import longreach/register`, a real client. Breakpoints reach every worker, present and future; a stop in a worker
// names its thread and holds that worker alone; detach releases everything; LONGREACH_SUBPROCESS=0 turns it off.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import type { ClientSession } from '../../src/client/index.js';
import { FIXTURES, attachTo, launch, run, within } from './agent-node-helpers.js';

const MAIN = join(FIXTURES, 'workers/main.mjs');
const SQUARE = join(FIXTURES, 'workers/square.mjs');
const TICKER = join(FIXTURES, 'workers/ticker.mjs');
const WAIT = 20_000;

interface Stopped {
  reason: string;
  threadId: number;
  allThreadsStopped?: boolean;
  hitBreakpointIds?: number[];
}

/** Every `stopped` event from now on, in order. */
function stops(s: ClientSession): { list: Stopped[]; next: (n: number) => Promise<Stopped[]> } {
  const list: Stopped[] = [];
  const waiters: (() => void)[] = [];
  s.on('event', (name: string, body: unknown) => {
    if (name !== 'stopped') return;
    list.push(body as Stopped);
    for (const w of waiters.splice(0)) w();
  });
  const next = async (n: number): Promise<Stopped[]> => {
    const deadline = Date.now() + WAIT;
    while (list.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${list.length} of ${n} stops within ${WAIT / 1000} s`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return list.slice(0, n);
  };
  return { list, next };
}

async function topFrame(s: ClientSession, threadId: number): Promise<{ id: number; line: number; source?: { path?: string } }> {
  const { stackFrames } = await s.request('stackTrace', { threadId, levels: 20 });
  return stackFrames[0];
}

async function evaluate(s: ClientSession, frameId: number, expression: string): Promise<string> {
  return (await s.request('evaluate', { expression, frameId, context: 'repl' })).result;
}

test('a breakpoint in a worker stops that worker as its own thread; variables and evaluate work there', async (t) => {
  const program = await launch(t, MAIN, ['one']);
  const s = await attachTo(t, program);
  const seen = stops(s);
  const threadEvents: { reason: string; threadId: number }[] = [];
  s.on('event', (name: string, body: unknown) => {
    if (name === 'thread') threadEvents.push(body as { reason: string; threadId: number });
  });
  const line = markerLine(SQUARE, 'worker-square');
  const set = await s.request('setBreakpoints', { source: { path: SQUARE }, breakpoints: [{ line }] });
  await s.request('configurationDone');
  const [stop] = await seen.next(1);
  assert.equal(stop!.reason, 'breakpoint');
  assert.notEqual(stop!.threadId, 1, 'a worker thread, not the main thread');
  assert.equal(stop!.allThreadsStopped, false);
  assert.deepEqual(stop!.hitBreakpointIds, [set.breakpoints[0].id]);
  const { threads } = await s.request('threads');
  const worker = threads.find((th: { id: number }) => th.id === stop!.threadId);
  assert.ok(worker, JSON.stringify(threads));
  assert.equal(worker.name, `worker ${stop!.threadId - 1}: ${SQUARE}`);
  assert.equal(threads[0].id, 1);
  assert.deepEqual(threadEvents[0], { reason: 'started', threadId: stop!.threadId });

  const frame = await topFrame(s, stop!.threadId);
  assert.equal(frame.line, line);
  assert.equal(frame.source?.path, SQUARE);
  const { scopes } = await s.request('scopes', { frameId: frame.id });
  const locals = await s.request('variables', { variablesReference: scopes[0].variablesReference });
  assert.equal(locals.variables.find((v: { name: string }) => v.name === 'value')?.value, '7');
  assert.equal(await evaluate(s, frame.id, 'value * 10'), '70');
  // the main thread runs on meanwhile: its own stack is not a stop
  await assert.rejects(s.request('scopes', { frameId: 1 }), /stopped/);

  const exited = s.waitForEvent('exited', { timeoutMs: WAIT });
  const answer = await s.request('continue', { threadId: stop!.threadId });
  assert.equal(answer.allThreadsContinued, false);
  assert.equal((await exited).exitCode, 0);
  assert.equal(await within(program.exited, WAIT, 'program end'), 0);
  assert.match(program.stdout(), /result 49/);
  assert.ok(threadEvents.some((e) => e.reason === 'exited' && e.threadId === stop!.threadId), JSON.stringify(threadEvents));
});

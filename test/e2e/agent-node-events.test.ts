// Events the client cannot infer from its own requests (docs/protocol.md 5.2): `continued` when the program runs
// again without the client asking (here another inspector session resumes it), and after a step.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { FIXTURES, attachTo, launch, within } from './agent-node-helpers.js';

const OTHER = join(FIXTURES, 'other-session.mjs');

test('resumed by another inspector session while stopped: the client gets continued', async (t) => {
  const program = await launch(t, OTHER);
  const s = await attachTo(t, program);
  await s.request('setBreakpoints', { source: { path: OTHER }, breakpoints: [{ line: markerLine(OTHER, 'stop-here') }] });
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  assert.equal((await stopped).reason, 'breakpoint');
  const continued = s.waitForEvent('continued', { timeoutMs: 15_000 });
  const { stackFrames } = await s.request('stackTrace', { threadId: 1, levels: 1 });
  const asked = await s.request('evaluate', { expression: 'resumeFromOtherSession()', frameId: stackFrames[0].id, context: 'repl' });
  assert.equal(asked.result, '"asked"');
  const body = await continued;
  assert.equal(body.threadId, 1);
  // false: the fixture's worker (the other session) is a thread of the process too, and it never stopped
  assert.equal(body.allThreadsContinued, false);
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
  assert.match(program.stdout(), /other session resumed 1/);
});

test('next is followed by continued then its stop; continue is answered by its response alone', async (t) => {
  const program = await launch(t, OTHER);
  const s = await attachTo(t, program);
  const seen: string[] = [];
  s.on('event', (name: string) => seen.push(name));
  await s.request('setBreakpoints', { source: { path: OTHER }, breakpoints: [{ line: markerLine(OTHER, 'stop-here') }] });
  let stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  await stopped;
  stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('next', { threadId: 1 });
  await stopped;
  assert.deepEqual(seen.filter((n) => n === 'stopped' || n === 'continued'), ['stopped', 'continued', 'stopped']);
  seen.length = 0;
  await s.request('setBreakpoints', { source: { path: OTHER }, breakpoints: [] });
  const terminated = s.waitForEvent('terminated', { timeoutMs: 15_000 });
  await s.request('continue', { threadId: 1 });
  await terminated;
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
  assert.ok(!seen.includes('continued'), seen.join(' '));
});

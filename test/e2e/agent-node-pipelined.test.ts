// Breakpoint requests sent all at once (VS Code does so after `initialized`, and so does a job session,
// docs/protocol.md 5.3) to the Node agent: every one applies, and configurationDone releases a program held for
// the debugger only once the breakpoints are in, so it stops at the first pass.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { waitForPort } from '../helpers/ports.js';
import { attachTo, FIXTURES, launch } from './agent-node-helpers.js';

const APP = join(FIXTURES, 'conformance/app.mjs');

test('pipelined setBreakpoints, setExceptionBreakpoints, setFunctionBreakpoints and configurationDone: the held program stops at the breakpoint', async (t) => {
  const program = await launch(t, APP, ['plain']);
  await waitForPort(program.port, program.child);
  const s = await attachTo(t, program);
  const stopped = s.waitForEvent<{ reason: string }>('stopped', { timeoutMs: 20_000 });
  const line = markerLine(APP, 'call-compute');
  const answers = await Promise.all([
    s.request('setBreakpoints', { source: { path: APP }, breakpoints: [{ line }] }),
    s.request('setExceptionBreakpoints', { filters: [] }),
    s.request('setFunctionBreakpoints', { breakpoints: [] }),
    s.request('configurationDone'),
  ]);
  assert.equal((answers[0] as { breakpoints: unknown[] }).breakpoints.length, 1);
  assert.equal((await stopped).reason, 'breakpoint');
  const frames = await s.request<{ stackFrames: { line: number }[] }>('stackTrace', { threadId: 1 });
  assert.equal(frames.stackFrames[0]!.line, line);
});

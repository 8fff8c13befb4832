// `longreach dap` (the editor bridge) with a Node.js program's worker_threads: each worker is a thread of the one
// session, named after its file; two workers stop at one breakpoint, each on its own, and run on when continued.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { startStdioBridge } from '../helpers/dap-bridge.js';
import { waitForPort } from '../helpers/ports.js';
import { FIXTURES, SECRET, launch, within } from './agent-node-helpers.js';

const MAIN = join(FIXTURES, 'workers/main.mjs');
const SQUARE = join(FIXTURES, 'workers/square.mjs');

test('through the bridge: worker threads appear, stop at a breakpoint and continue', { timeout: 90_000 }, async (t) => {
  const program = await launch(t, MAIN, ['two'], { LONGREACH_JOB_HOLD: '30' });
  await waitForPort(program.port, program.child);
  const { client } = startStdioBridge(t, { LR_NODE_SECRET: SECRET });
  const stops: { threadId: number; allThreadsStopped?: boolean; reason: string }[] = [];
  client.on('stopped', (e: { body: { threadId: number; reason: string } }) => stops.push(e.body));
  await client.initializeRequest({ adapterID: 'longreach', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const initialized = client.waitForEvent('initialized');
  await client.attachRequest({ qualifier: `tcp://127.0.0.1:${program.port}`, secretEnv: 'LR_NODE_SECRET' } as never);
  await initialized;
  const line = markerLine(SQUARE, 'worker-square');
  await client.setBreakpointsRequest({ source: { path: SQUARE }, breakpoints: [{ line }] });
  await client.configurationDoneRequest();
  const deadline = Date.now() + 30_000;
  while (stops.length < 2) {
    if (Date.now() > deadline) throw new Error(`${stops.length} of 2 stops`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.deepEqual(stops.map((s) => s.allThreadsStopped), [false, false]);
  const threads = (await client.threadsRequest()).body.threads;
  const values: string[] = [];
  for (const stop of stops) {
    const name = threads.find((th) => th.id === stop.threadId)?.name ?? '';
    assert.match(name, new RegExp(`^worker ${stop.threadId - 1} \\((a|b)\\): .*square\\.mjs$`));
    const top = (await client.stackTraceRequest({ threadId: stop.threadId })).body.stackFrames[0]!;
    assert.equal(top.line, line);
    values.push((await client.evaluateRequest({ expression: 'value', frameId: top.id, context: 'watch' })).body.result);
  }
  assert.deepEqual(values.sort(), ['3', '4']);
  for (const stop of stops) {
    const answer = await client.continueRequest({ threadId: stop.threadId });
    assert.equal(answer.body.allThreadsContinued, false);
  }
  assert.equal(await within(program.exited, 30_000, 'program end'), 0);
  assert.match(program.stdout(), /results 9 16/);
  await client.disconnectRequest({}).catch(() => undefined);
});

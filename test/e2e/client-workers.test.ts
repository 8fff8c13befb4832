// The client's model of a session (Debugger) with threads that stop on their own: when the current stop's thread
// runs again by itself, or ends (here a worker_threads worker the program terminates while it is stopped), the stop
// that waited behind it becomes current.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { connectTo } from '../conformance/harness.js';
import { Debugger } from '../../src/client/debugger.js';
import { FIXTURES, SECRET, launch, within } from './agent-node-helpers.js';

const MAIN = join(FIXTURES, 'workers/main.mjs');
const SQUARE = join(FIXTURES, 'workers/square.mjs');

test('a stopped worker the program terminates gives way to the stop that waited behind it', async (t) => {
  const program = await launch(t, MAIN, ['two-terminate'], { LONGREACH_JOB_HOLD: '30' });
  const session = await connectTo(program, { secret: SECRET });
  t.after(() => session.close());
  const dbg = await Debugger.attach(session, { breakpoints: [{ file: SQUARE, line: markerLine(SQUARE, 'worker-square') }] });
  const first = await dbg.waitForStop(0, 20_000);
  assert.equal(first.kind, 'stopped');
  assert.match(dbg.stop!.threadName, /^worker \d+ \(a\): /);
  assert.equal((await dbg.evaluate('value')).value, '3');
  // b stops after a and waits; a is terminated by the program 1.5 s after b is online
  const deadline = Date.now() + 20_000;
  while (!dbg.stop || !/\(b\)/.test(dbg.stop.threadName)) {
    if (Date.now() > deadline) throw new Error(`b's stop did not become current (state ${dbg.state}, queued ${JSON.stringify(dbg.queuedStops)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal((await dbg.evaluate('value')).value, '4');
  await dbg.continue();
  assert.equal(await within(program.exited, 20_000, 'program end'), 0);
  assert.equal(program.stdout(), 'exits 1 0\n');
});

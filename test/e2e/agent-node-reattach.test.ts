// The Node agent attached to again: what one session set up in the program does not reach the next. Hit counts are
// per session (a hitCondition counts from the attach that set it), also for a client that turned output
// redirection off (redirectOutput: false), whose detach used to leave the program's hit counters as they were.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { connectTo, SECRET } from '../conformance/harness.js';
import { trackChild } from '../helpers/child.js';
import { freePort, waitForPort } from '../helpers/ports.js';
import { FIXTURES, REGISTER } from './agent-node-helpers.js';

const TICKER = join(FIXTURES, 'ticker.mjs');

test('a hitCondition counts from its own attach, each time (redirectOutput: false)', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', REGISTER, TICKER], {
    env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const program = { ...trackChild(t, child), port };
  await waitForPort(port, child);
  const line = markerLine(TICKER, 'work');
  for (let round = 1; round <= 3; round++) {
    const s = await connectTo(program, { secret: SECRET });
    try {
      const initialized = s.waitForEvent('initialized', { timeoutMs: 10_000 });
      await s.request('attach', { redirectOutput: false });
      await initialized;
      const stopped = s.waitForEvent('stopped', { timeoutMs: 10_000 });
      const { breakpoints } = await s.request('setBreakpoints', { source: { path: TICKER }, breakpoints: [{ line, hitCondition: '3' }] });
      assert.equal(breakpoints[0].verified, true);
      await s.request('configurationDone');
      const stop = await stopped.catch((err: Error) => assert.fail(`round ${round}: the third hit of this session did not stop (${err.message})`));
      assert.equal(stop.reason, 'breakpoint');
      await s.disconnect();
    } finally {
      s.close();
    }
  }
});

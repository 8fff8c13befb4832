// Interop: the CLI against a DAP server we did not write (Debian's debugpy, no secret): attach, break, continue,
// bt, print, next, detach, and the program finishes by itself. debugpy answers attach only after
// configurationDone and says `terminated` on detach; the client copes with both.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, startDebugpy } from '../helpers/cli.js';

const FIXTURE = 'test/fixtures/cli/inventory.py';

test('debugpy: attach with --break, bt, print, next, break, continue, detach; the program finishes', async (t) => {
  const dp = await startDebugpy(t, FIXTURE);
  const script = ['wait', 'bt 3', 'p name', 'next', 'p STOCK[name]', 'delete 1', `break ${FIXTURE}:10`, 'continue', 'bt 2', 'p amount', 'info breakpoints', 'detach', ''].join('\n');
  const r = await runCli(['attach', `tcp://127.0.0.1:${dp.port}`, '--break', `${FIXTURE}:16`, '--batch', '-', '--timeout', '30'], { input: script, timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = r.stdout;
  assert.match(out, /Attached to tcp:\/\/127\.0\.0\.1:\d+ \(plain DAP server\)/);
  assert.match(out, /Stopped at breakpoint 1 in thread MainThread \(\d+\)\n> test\/fixtures\/cli\/inventory\.py:16 in check\(\)\n-> if STOCK\[name\] == 0:/);
  assert.match(out, /\* #0 {2}check\(\) at test\/fixtures\/cli\/inventory\.py:16\n {2}#1 {2}main\(\) at test\/fixtures\/cli\/inventory\.py:32/);
  assert.match(out, /\(longreach\) p name\n'apples' {2}\(str\)/);
  assert.match(out, /Stopped after a step in thread MainThread \(\d+\)\n> test\/fixtures\/cli\/inventory\.py:18 in check\(\)/);
  assert.match(out, /\(longreach\) p STOCK\[name\]\n3 {2}\(int\)/);
  assert.match(out, /Breakpoint 2 at test\/fixtures\/cli\/inventory\.py:10/);
  assert.match(out, /Stopped at breakpoint 2 in thread worker \(\d+\)\n> test\/fixtures\/cli\/inventory\.py:10 in restock\(\)/);
  assert.match(out, /\(longreach\) p amount\n1 {2}\(int\)/);
  assert.match(out, /Breakpoint 2 at test\/fixtures\/cli\/inventory\.py:10, hit 1 time/);
  assert.match(out, /Detached; the program keeps running\./);
  assert.doesNotMatch(out, /The program exited/, 'a detach is not the end of the program');
  assert.equal(await dp.exited, 0);
  assert.match(dp.stdout(), /done with 100 shelves/);
});

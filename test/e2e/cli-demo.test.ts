// `longreach demo` runs the whole walkthrough to completion against the real Python agent.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';

test('demo: starts the example, lists, attaches, stops, steps, evaluates, detaches, and the program finishes', async () => {
  const r = await runCli(['demo'], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = r.stdout;
  assert.match(out, /== 2\. Listing it/);
  assert.match(out, /CPython \d+\.\d+\.\d+/);
  assert.match(out, /Stopped at breakpoint 1 in thread MainThread \(\d+\)\n> examples\/python\/orders\.py:14 in line_total\(\)/);
  assert.match(out, /order = \{'id': 2, 'item': 'scones', 'qty': 6, 'price': 1\.75\}/);
  assert.match(out, /> examples\/python\/orders\.py:15 in line_total\(\)/);
  assert.match(out, /\(longreach\) p subtotal \* \(1 - discount\)\n9\.45/);
  assert.match(out, /Detached; the program keeps running\./);
  assert.match(out, /total: 20\.95/);
  assert.match(out, /The program exited with code 0\./);
  assert.doesNotMatch(out + r.stderr, /LONGREACH_DEMO_SECRET=|secret: [A-Za-z0-9_-]{20,}/);
});

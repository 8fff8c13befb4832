// The terminal debugger and worker_threads: each worker is a thread of the process; a stop in one names it, and a
// second worker's stop waits its turn (the CLI queues stops that hold one thread only).

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { runCli } from '../helpers/cli.js';
import { waitForPort } from '../helpers/ports.js';
import { FIXTURES, launch, SECRET } from './agent-node-helpers.js';

const MAIN = join(FIXTURES, 'workers/main.mjs');
const SQUARE = join(FIXTURES, 'workers/square.mjs');

test('attach --batch: two workers stop in turn at a breakpoint, each in its own thread; the program finishes', async (t) => {
  const program = await launch(t, MAIN, ['two'], { LONGREACH_JOB_HOLD: '30' });
  await waitForPort(program.port, program.child);
  const line = markerLine(SQUARE, 'worker-square');
  const commands = ['p value', 'threads', 'continue', 'p value', 'continue'].join('\n');
  const result = await runCli(['attach', `tcp://127.0.0.1:${program.port}`, '--secret-env', 'LR_NODE_SECRET', '--break', `${SQUARE}:${line}`, '--batch', '-', '--timeout', '30'], {
    input: commands,
    env: { LR_NODE_SECRET: SECRET },
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const stops = [...result.stdout.matchAll(/Stopped at breakpoint 1 in thread worker (\d+) \((a|b)\): (\S+) \((\d+)\)/g)];
  assert.equal(stops.length, 2, result.stdout);
  assert.notEqual(stops[0]![2], stops[1]![2], 'two different workers');
  for (const s of stops) {
    assert.equal(s[3], SQUARE);
    assert.equal(Number(s[4]), Number(s[1]) + 1, 'thread id = worker threadId + 1');
  }
  const values = [...result.stdout.matchAll(/^([34]) +\(number\)$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(values, ['3', '4'], result.stdout);
  assert.match(result.stdout, /\b1\b.*\bmain\b/);
  assert.equal(await program.exited, 0, program.stderr());
  assert.match(program.stdout(), /results 9 16/);
});

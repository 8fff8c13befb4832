// The terminal debugger against the Node.js agent: the same batch commands as against Python.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES, launch, SECRET } from './agent-node-helpers.js';
import { waitForPort } from '../helpers/ports.js';

const APP = join(FIXTURES, 'conformance/app.mjs');

test('attach --batch to a Node program: break, bt, print, next, locals, detach; the program finishes', async (t) => {
  const program = await launch(t, APP, ['plain']);
  await waitForPort(program.port, program.child);
  const line = markerLine(APP, 'loop-body');
  const commands = ['bt 2', 'p n * 10', 'next', 'p total', 'locals', 'detach'].join('\n');
  const result = await runCli(['attach', `tcp://127.0.0.1:${program.port}`, '--secret-env', 'LR_NODE_SECRET', '--break', `${APP}:${line}`, '--batch', '-', '--timeout', '30'], {
    input: commands,
    env: { LR_NODE_SECRET: SECRET },
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /longreach-node/);
  assert.match(result.stdout, new RegExp(`Stopped at breakpoint 1 .*\\n> .*app\\.mjs:${line} in compute\\(\\)`));
  assert.match(result.stdout, /#1 +main\(\) at .*app\.mjs:\d+/);
  assert.match(result.stdout, /^50\b/m, 'p n * 10 with n = 5');
  assert.match(result.stdout, /Stopped after a step/);
  assert.match(result.stdout, /^total = \d+/m);
  assert.match(result.stdout, /Detached; the program keeps running\./);
  assert.equal(await program.exited, 0, program.stderr());
});

// `?pid=` against agents that debug one process (docs/protocol.md 5.3): their own pid selects them, any other pid
// is LR_NO_SUCH_PROCESS naming the pids there; list shows the same; both agents, through the built CLI.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { runCli, startAgent } from '../helpers/cli.js';
import { waitForPort } from '../helpers/ports.js';
import { FIXTURES, launch, SECRET } from './agent-node-helpers.js';

const SECRET_ENV = { LR_CLI_SECRET: 'cli-secret' };
const APP = join(FIXTURES, 'conformance/app.mjs');

test('?pid=: the Python agent selects itself by its pid, and names its pid for any other', async (t) => {
  const agent = await startAgent(t, '-c', { wait: false, args: ['import time\nfor i in range(300): time.sleep(0.1)'] });
  const pid = agent.child.pid!;
  const ok = await runCli(['attach', `tcp://127.0.0.1:${agent.port}?pid=${pid}`, '--secret-env', 'LR_CLI_SECRET', '--batch', '-', '--timeout', '20'], {
    input: 'threads\ndetach\n',
    env: SECRET_ENV,
  });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /MainThread/);
  const other = pid + 100000;
  const bad = await runCli(['attach', `tcp://127.0.0.1:${agent.port}?pid=${other}`, '--secret-env', 'LR_CLI_SECRET', '--batch', '-', '--timeout', '20'], {
    input: 'detach\n',
    env: SECRET_ENV,
  });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout + bad.stderr, new RegExp(`LR_NO_SUCH_PROCESS.*no process ${other} .*processes: ${pid}`));
  const malformed = await runCli(['attach', `tcp://127.0.0.1:${agent.port}?pid=abc`, '--secret-env', 'LR_CLI_SECRET', '--batch', '-'], { input: '', env: SECRET_ENV });
  // as list and stacks say it: the error's code, exit status 1
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, /^longreach: error \[LR_BAD_QUALIFIER\]: pid takes a process id.*\?pid=PID/);
  agent.child.kill();
});

test('?pid=: the Node agent selects itself and stops at a breakpoint; another pid is LR_NO_SUCH_PROCESS', async (t) => {
  const program = await launch(t, APP, ['plain']);
  await waitForPort(program.port, program.child);
  const pid = program.child.pid!;
  const listed = await runCli(['list', `tcp://127.0.0.1:${program.port}?pid=${pid}`, '--secret-env', 'LR_NODE_SECRET', '--json'], { env: { LR_NODE_SECRET: SECRET } });
  assert.equal(listed.code, 0, listed.stdout + listed.stderr);
  assert.equal((JSON.parse(listed.stdout.trim()) as { pid: number }).pid, pid);
  const bad = await runCli(['list', `tcp://127.0.0.1:${program.port}?pid=1`, '--secret-env', 'LR_NODE_SECRET'], { env: { LR_NODE_SECRET: SECRET } });
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, new RegExp(`LR_NO_SUCH_PROCESS.*no process 1 .*processes: ${pid}`));
  const line = markerLine(APP, 'loop-body');
  const ok = await runCli(['attach', `tcp://127.0.0.1:${program.port}?pid=${pid}`, '--secret-env', 'LR_NODE_SECRET', '--break', `${APP}:${line}`, '--batch', '-', '--timeout', '30'], {
    input: 'wait\ndetach\n',
    env: { LR_NODE_SECRET: SECRET },
  });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /Stopped at breakpoint 1/);
  assert.equal(await program.exited, 0, program.stderr());
});

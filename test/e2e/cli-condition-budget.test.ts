// A breakpoint condition that never returns (Python agent, every interpreter): the agent interrupts it after its
// budget (LONGREACH_CONDITION_BUDGET), the program stops once with a message naming the budget, a later true
// condition still stops, and the program ends with its own result. Real program, real socket, the built CLI.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { trackChild } from '../helpers/child.js';
import { freePort, runCli, waitForPort } from '../helpers/cli.js';
import { jobInterpreters } from '../helpers/job.js';

const ROOT = process.cwd();
const FIXTURE = 'test/fixtures/cli/slow_condition.py';

for (const py of jobInterpreters()) {
  test(`condition budget (${py.label}): a condition that never returns is interrupted, reported once, and the program goes on`, { timeout: 60_000 }, async (t) => {
    const port = await freePort();
    const child = spawn(py.exe, ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_TEST_SECRET', '--wait', FIXTURE], {
      cwd: ROOT,
      env: { ...process.env, LR_TEST_SECRET: 'cli-secret', PYTHONPATH: join(ROOT, 'python'), LONGREACH_CONDITION_BUDGET: '0.5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const program = trackChild(t, child);
    await waitForPort(port, child);
    const r = await runCli(
      ['attach', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_CLI_SECRET', '--break', `${FIXTURE}:12:(i == 2 and stall()) or i == 4`, '--batch', '-', '--timeout', '30'],
      { input: 'p i\ncontinue\np i\ncontinue\n', env: { LR_CLI_SECRET: 'cli-secret' } },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((r.stdout.match(/breakpoint condition ran past its 0\.5 s budget and was interrupted/g) ?? []).length, 1, r.stdout);
    assert.match(r.stdout, /LONGREACH_CONDITION_BUDGET=SECONDS/);
    const values = [...r.stdout.matchAll(/^(\d+) {2}\(int\)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(values, [2, 4], r.stdout);
    assert.equal(await program.exited, 0, program.stderr());
    assert.match(program.stdout(), /^total 15$/m);
  });
}

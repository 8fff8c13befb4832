// The wrong file must not win (issue 11, item 3): two checkouts of one project on the agent's machine, the program
// running checkout B, the editor showing checkout A. A breakpoint set in A's copy goes into the file that runs (B's),
// says so in its message, and stops. Both agents, through the client library against real programs. The Node.js
// case attaches while the program has just started and hits the line every 2 ms: it is also the regression test for
// a hit reported before V8's breakpoint id came back (it stopped with reason "pause" and no hitBreakpointIds).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect, type ClientSession } from '../../src/client/index.js';
import { trackChild } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';
import { freePort, waitForPort } from '../helpers/ports.js';

const SECRET = 'two-checkouts';
const PYTHON = process.env.LONGREACH_TEST_PYTHON ?? 'python3';

function checkouts(t: TestContext, files: Record<string, string>): { a: string; b: string } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'lr-two-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const side of ['a', 'b']) {
    for (const [rel, text] of Object.entries(files)) {
      const path = join(root, side, rel);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
    }
  }
  return { a: join(root, 'a'), b: join(root, 'b') };
}

async function attachTo(t: TestContext, port: number): Promise<{ s: ClientSession; stopped: Promise<any> }> {
  const s = await connect(`tcp://127.0.0.1:${port}`, { secret: SECRET, timeoutMs: 10_000 });
  t.after(() => s.close());
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  const initialized = s.waitForEvent('initialized', { timeoutMs: 10_000 });
  await s.request('attach', {});
  await initialized;
  return { s, stopped };
}

async function check(s: ClientSession, stopped: Promise<any>, clientFile: string, runningFile: string, line: number): Promise<void> {
  const body = await s.request('setBreakpoints', { source: { path: clientFile }, breakpoints: [{ line }] });
  const [bp] = body.breakpoints as { verified: boolean; message?: string }[];
  assert.equal(bp!.verified, true, JSON.stringify(bp));
  assert.equal(bp!.message, `using ${runningFile}; also matched ${clientFile} (not loaded)`);
  await s.request('configurationDone');
  const stop = await stopped;
  assert.equal(stop.reason, 'breakpoint', JSON.stringify(stop));
  const { stackFrames } = await s.request('stackTrace', { threadId: stop.threadId });
  assert.equal(stackFrames[0].line, line);
}

test('python agent: a breakpoint in the unloaded checkout goes into the running one', { timeout: 60_000 }, async (t) => {
  const { a, b } = checkouts(t, {
    'pkg/__init__.py': '',
    'pkg/work.py': 'def work(n):\n    total = n * 2\n    return total\n',
    'main.py': 'import sys, time\nfrom pkg.work import work\nend = time.time() + 30\nwhile time.time() < end:\n    work(3)\n    time.sleep(0.002)\n',
  });
  const port = await freePort();
  const child = spawn(PYTHON, ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_TWO', join(b, 'main.py')], {
    cwd: b,
    env: { ...process.env, PYTHONPATH: join(ROOT, 'python'), LR_TWO: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(t, child);
  await waitForPort(port, child);
  const { s, stopped } = await attachTo(t, port);
  await check(s, stopped, join(a, 'pkg', 'work.py'), join(b, 'pkg', 'work.py'), 2);
});

test('node agent: a breakpoint in the unloaded checkout goes into the running one', { timeout: 60_000 }, async (t) => {
  const { a, b } = checkouts(t, {
    'lib/work.mjs': 'export function work(n) {\n  const total = n * 2;\n  return total;\n}\n',
    'main.mjs': "import { work } from './lib/work.mjs';\nconst end = Date.now() + 30_000;\nconst timer = setInterval(() => { work(3); if (Date.now() > end) clearInterval(timer); }, 2);\n",
  });
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', join(ROOT, 'dist/src/agent-node/register.js'), join(b, 'main.mjs')], {
    cwd: b,
    env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(t, child);
  await waitForPort(port, child);
  const { s, stopped } = await attachTo(t, port);
  await check(s, stopped, join(a, 'lib', 'work.mjs'), join(b, 'lib', 'work.mjs'), 2);
});

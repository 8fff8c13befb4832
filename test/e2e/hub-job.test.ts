// A job behind a hub: `python -m longreach --connect HUB` runs a multiprocessing pool whose workers call
// breakpoint(). Every worker joins the job, and the hub lists it under the root, labelled and waiting at its line;
// each is attached in turn through the hub with ?pid=, and the job finishes with the right result.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { PYTHON_FIXTURES } from '../helpers/python-agent.js';
import { HUB_SECRET, startHubProcess, startPythonDialer } from './hub-helpers.js';

const POOL = join(PYTHON_FIXTURES, 'pool_breakpoint.py');
const ENV = { LR_HUB_CLIENT: HUB_SECRET };

interface Row { pid: number; ppid: number | null; label: string; target: string; info: { waiting?: { file: string; line: number } | null } }

async function rows(port: number): Promise<Row[]> {
  const r = await runCli(['list', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_HUB_CLIENT', '--json'], { env: ENV });
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Row).filter((x) => typeof x.pid === 'number');
}

test('a pool whose workers call breakpoint() under a hub: each waiting worker is listed, attached in turn, and the job finishes', { timeout: 120_000 }, async (t) => {
  const hub = await startHubProcess(t);
  const program = startPythonDialer(t, hub.port, { script: [POOL] });
  const root = program.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${root} `));
  let listed: Row[] = [];
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    listed = await rows(hub.port);
    if (listed.filter((r) => r.info.waiting).length === 2) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const workers = listed.filter((r) => r.info.waiting);
  assert.equal(workers.length, 2, JSON.stringify(listed, null, 1));
  assert.ok(listed.some((r) => r.pid === root && !r.info.waiting), 'the root is listed, not waiting');
  for (const w of workers) {
    assert.equal(w.ppid, root);
    assert.match(w.label, /^SpawnPoolWorker-\d+$/);
    assert.match(w.info.waiting!.file, /pool_breakpoint\.py$/);
    assert.equal(w.info.waiting!.line, 8);
    assert.equal(w.target, `tcp://127.0.0.1:${hub.port}?pid=${w.pid}`);
  }
  const seen: string[] = [];
  for (const w of workers) {
    const r = await runCli(['attach', w.target, '--secret-env', 'LR_HUB_CLIENT', '--batch', '-', '--timeout', '30'], { input: 'bt 1\np total\ndetach\n', env: ENV });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Stopped paused in thread MainThread \(\d+\)\n> .*pool_breakpoint\.py:8 in work\(\)\n-> breakpoint\(\)/);
    seen.push(/^(\d+) {2}\(int\)$/m.exec(r.stdout)?.[1] ?? '?');
  }
  assert.deepEqual(seen.sort(), ['10', '20']);
  assert.equal(await program.exited, 0, program.stderr());
  assert.equal(program.stdout(), 'results [11, 21]\n');
});

// A job's root that dials a hub (reverse connect) is registered by the hub with a listing that does not wake the job
// (`longreach/processInfo` with {"wake": false}, docs/protocol.md 5.3): a Node.js root (fork child) and a Python root
// (subprocess child, on every interpreter the job tests use) stay asleep after registering, so their child, which
// has not called the agent, does not join (no `awake` file, no connection to the gateway); the first client listing
// through the hub wakes the job and shows the child. The hub starts after the root's job is in place, so it is a
// job's root that it registers.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import type { Tracked } from '../helpers/child.js';
import { freePort, runCli } from '../helpers/cli.js';
import { jobInterpreters, spawnJobGroup } from '../helpers/job.js';
import { childrenOf, NODE_JOB, procOf } from '../helpers/node-job.js';
import { ROOT } from '../helpers/paths.js';
import { HUB_SECRET, REGISTER, socketInodesOf, startHubProcess, until } from './hub-helpers.js';

const PY_JOB = 'test/fixtures/python/job/job.py';
const ENV = { LR_HUB_CLIENT: HUB_SECRET };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The job's gateway socket, from LONGREACH_JOB in the environment of the root's one child that has it. */
async function gatewaySocket(root: number): Promise<{ child: number; socket: string }> {
  const child = await until('the root has one child with LONGREACH_JOB', () => {
    const kids = childrenOf(root).filter((pid) => {
      try {
        return procOf(pid).environ.has('LONGREACH_JOB');
      } catch {
        return false; // gone meanwhile (a short-lived helper)
      }
    });
    return kids.length === 1 ? kids[0] : undefined;
  }, 20_000);
  return { child, socket: (JSON.parse(procOf(child).environ.get('LONGREACH_JOB')!) as { socket: string }).socket };
}

/** How many connections the root's gateway holds (processes that joined): its accepted sockets on `socket`. */
function gatewayLinks(root: number, socket: string): number {
  const inodes = socketInodesOf(root);
  // /proc/net/unix: Num RefCount Protocol Flags Type St Inode Path; Flags 00010000 is the listening socket
  const rows = readFileSync('/proc/net/unix', 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  return rows.filter((r) => r[7] === socket && inodes.has(r[6]!) && r[3] !== '00010000').length;
}

async function hubRows(port: number): Promise<{ pid: number; ppid: number | null }[]> {
  const r = await runCli(['list', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_HUB_CLIENT', '--json'], { env: ENV });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { pid: number; ppid: number | null; ok: boolean }).filter((x) => x.ok);
}

/**
 * The root (`start(hubPort)`) starts first and dials a port where no hub listens yet; the hub starts there once the
 * root's job is in place (its child runs), so that the hub registers a job's root (a Python root dials before its
 * gateway is plugged in). Registered, the job sleeps on (its child does not join); the first client listing wakes it.
 */
async function registeredAsleep(t: TestContext, start: (hubPort: number) => Tracked): Promise<void> {
  const port = await freePort();
  const root = start(port);
  const pid = root.child.pid!;
  const { child, socket } = await gatewaySocket(pid);
  const hub = await startHubProcess(t, { port });
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `), 30_000);
  const awake = join(dirname(socket), 'awake');
  await sleep(1500); // well past the time a child of an awake job takes to join
  assert.equal(existsSync(awake), false, `${awake} exists after the hub registered the root: the registration woke the job`);
  assert.equal(gatewayLinks(pid, socket), 0, 'a process joined the job though no client asked for it');
  let rows = await hubRows(hub.port);
  assert.ok(existsSync(awake), `no ${awake} after a client's listing through the hub`);
  // that listing waits for the processes joining because of it (settle), but on a loaded machine a child may take
  // longer to join than the settle lasts: then a later listing shows it
  const deadline = Date.now() + 15_000;
  while (rows.length < 2 && Date.now() < deadline) {
    await sleep(200);
    rows = await hubRows(hub.port);
  }
  assert.deepEqual(rows.map((r) => r.pid), [pid, child], JSON.stringify(rows));
  assert.equal(rows[1]!.ppid, pid);
  assert.ok(gatewayLinks(pid, socket) >= 1, 'the child that joined holds a connection to the gateway');
}

test('a Node.js root registered by a hub: the job stays asleep until a client lists through the hub', { timeout: 60_000 }, async (t) => {
  await registeredAsleep(t, (port) => spawnJobGroup(t, [process.execPath, '--import', REGISTER, NODE_JOB, 'fork'], { LONGREACH_CONNECT: `127.0.0.1:${port}`, LONGREACH_SECRET: HUB_SECRET }));
});

for (const py of jobInterpreters()) {
  test(`a Python root (${py.label}) registered by a hub: the job stays asleep until a client lists through the hub`, { timeout: 60_000 }, async (t) => {
    await registeredAsleep(t, (port) => spawnJobGroup(t, [py.exe, '-m', 'longreach', '--connect', `127.0.0.1:${port}`, '--secret-env', 'LR_TEST_SECRET', PY_JOB, 'script'], {
      LR_TEST_SECRET: HUB_SECRET, PYTHONPATH: join(ROOT, 'python'), PYTHONDONTWRITEBYTECODE: '1',
    }));
  });
}

// Reverse connect with the Node.js agent: `node --import longreach/register` with LONGREACH_CONNECT dials a real
// `longreach listen` hub, listens on nothing, is listed and stops at a breakpoint through the hub (tcp://), and
// trusts a TLS hub by LONGREACH_FINGERPRINT (tcps://); a hub with another secret never sees it.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tls-fixtures.js';
import { FIXTURES } from './agent-node-helpers.js';
import { assertNoListeningSocket, HUB_SECRET, startHubProcess, startNodeDialer } from './hub-helpers.js';

const APP = join(FIXTURES, 'conformance/app.mjs');
const ENV = { LR_CLIENT_SECRET: HUB_SECRET };

test('Node agent with LONGREACH_CONNECT: no listening socket, listed, stops at a breakpoint through the hub', { timeout: 90_000 }, async (t) => {
  const hub = await startHubProcess(t);
  const program = startNodeDialer(t, hub.port, APP, ['plain'], { LONGREACH_WAIT: '1' });
  const pid = program.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} \\(Node\\.js`));
  assertNoListeningSocket(pid, hub.port);
  const listed = await runCli(['list', `tcp://127.0.0.1:${hub.port}`, '--secret-env', 'LR_CLIENT_SECRET', '--json'], { env: ENV });
  assert.equal(listed.code, 0, listed.stdout + listed.stderr);
  const rows = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { pid: number; info: { runtime: string } });
  assert.deepEqual(rows.map((r) => [r.pid, r.info.runtime]), [[pid, 'Node.js']]);
  const line = markerLine(APP, 'loop-body');
  const attached = await runCli(['attach', `tcp://127.0.0.1:${hub.port}?pid=${pid}`, '--secret-env', 'LR_CLIENT_SECRET', '--break', `${APP}:${line}`, '--batch', '-', '--timeout', '30'], {
    input: 'wait\nprint i + 100\ndetach\n',
    env: ENV,
  });
  assert.equal(attached.code, 0, attached.stdout + attached.stderr);
  assert.match(attached.stdout, /Stopped at breakpoint 1/);
  assert.match(attached.stdout, /\b100\b/);
  assert.equal(await program.exited, 0, program.stderr());
});

test('Node agent trusts a TLS hub by LONGREACH_FINGERPRINT; a hub with another secret never sees it', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t, 'longreach-hub-node-');
  const made = await runCli(['cert', 'create', '--out', dir]);
  const fingerprint = /Fingerprint: (sha256:[0-9a-f]{64})/.exec(made.stdout)?.[1];
  assert.ok(fingerprint, made.stdout + made.stderr);
  const hub = await startHubProcess(t, { tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
  const program = startNodeDialer(t, hub.port, APP, ['plain'], { LONGREACH_WAIT: '1', LONGREACH_FINGERPRINT: fingerprint });
  const pid = program.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  const attached = await runCli(['attach', `tcps://127.0.0.1:${hub.port}?pid=${pid}&fingerprint=${fingerprint}`, '--secret-env', 'LR_CLIENT_SECRET', '--break', `${APP}:${markerLine(APP, 'loop-body')}`, '--batch', '-', '--timeout', '30'], {
    input: 'wait\nthreads\ndetach\n',
    env: ENV,
  });
  assert.equal(attached.code, 0, attached.stdout + attached.stderr);
  assert.match(attached.stdout, /Stopped at breakpoint 1/);
  assert.equal(await program.exited, 0, program.stderr());

  const other = await startHubProcess(t, { secret: 'another-secret' });
  const logFile = join(dir, 'stranger.log');
  // idles long enough for the dialer to meet the stranger hub however loaded the machine is, then ends by itself
  const stranger = startNodeDialer(t, other.port, join(FIXTURES, 'hub-idle.mjs'), ['20'], { LONGREACH_LOG: 'auth', LONGREACH_LOG_FILE: logFile });
  const deadline = Date.now() + 18_000;
  while (!(existsSync(logFile) && /does not know the secret/.test(readFileSync(logFile, 'utf8'))) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(await stranger.exited, 0, stranger.stderr());
  assert.equal(stranger.stderr(), '');
  assert.doesNotMatch(other.stdout(), /agent connected/);
  const logged = readFileSync(logFile, 'utf8');
  assert.match(logged, /does not know the secret/, 'the refusal is in the opt-in log');
  assert.doesNotMatch(logged, new RegExp(HUB_SECRET));
});

test('Node agent: the hub restarted mid-run is found again, and a program that ends is not held by the dialer', { timeout: 60_000 }, async (t) => {
  const idle = join(FIXTURES, 'hub-idle.mjs');
  const first = await startHubProcess(t);
  const program = startNodeDialer(t, first.port, idle, ['60']);
  const pid = program.child.pid!;
  await first.waitFor(new RegExp(`agent connected: pid ${pid} `));
  await first.stop();
  const second = await startHubProcess(t, { port: first.port });
  await second.waitFor(new RegExp(`agent connected: pid ${pid} `), 20_000);
  const listed = await runCli(['list', `tcp://127.0.0.1:${second.port}`, '--secret-env', 'LR_CLIENT_SECRET', '--json'], { env: ENV });
  assert.match(listed.stdout, new RegExp(`"pid":${pid}`));
  await second.stop();
  // with no hub at all the dialer keeps retrying in the background; the program still ends on time
  const short = startNodeDialer(t, second.port, idle, ['1']);
  const started = Date.now();
  assert.equal(await short.exited, 0, short.stderr());
  assert.ok(Date.now() - started < 10_000, 'the program was not held');
  assert.equal(short.stdout(), 'idle\ndone\n');
});


// Reverse connect with the Python agent, through the built CLI: `longreach listen` hub, agents that dial it and
// listen on nothing, listing and attaching with ?pid= over tcp:// and tcps:// (a certificate from `longreach cert
// create`, trusted by fingerprint), a hub that does not know the secret, a hub restarted mid-run, unknown pids.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { FrameDecoder, encodeFrame, type DapMessage } from '../../src/protocol/framing.js';
import { runCli } from '../helpers/cli.js';
import { spawnPython } from '../helpers/python-agent.js';
import { tempDir } from '../helpers/tls-fixtures.js';
import { assertNoListeningSocket, HUB_LOOP, HUB_SECRET, listeningPorts, startHubProcess, startPythonDialer, until } from './hub-helpers.js';

const ENV = { LR_CLIENT_SECRET: HUB_SECRET };
const BREAK_LINE = readFileSync(HUB_LOOP, 'utf8').split('\n').findIndex((l) => l.includes('HUB-BREAK')) + 1;

function listJson(stdout: string): Array<{ ok: boolean; pid: number; target: string; info: { argv: string[]; runtime: string } }> {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('a Python agent that listens on nothing is listed and debugged through the hub over tcp://', { timeout: 90_000 }, async (t) => {
  const hub = await startHubProcess(t);
  const agent = startPythonDialer(t, hub.port);
  const pid = agent.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  assertNoListeningSocket(pid, hub.port);
  assert.ok(listeningPorts(hub.child.pid!).includes(hub.port), 'the socket check does see a listening socket (the hub\'s)');

  const listed = await runCli(['list', `tcp://127.0.0.1:${hub.port}`, '--secret-env', 'LR_CLIENT_SECRET', '--json'], { env: ENV });
  assert.equal(listed.code, 0, listed.stdout + listed.stderr);
  const rows = listJson(listed.stdout);
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.pid, pid);
  assert.equal(rows[0]!.info.runtime === 'CPython' || rows[0]!.info.runtime === 'PyPy', true);
  assert.equal(rows[0]!.target, `tcp://127.0.0.1:${hub.port}?pid=${pid}`);

  const attached = await runCli(['attach', `tcp://127.0.0.1:${hub.port}?pid=${pid}`, '--secret-env', 'LR_CLIENT_SECRET', '--break', `${HUB_LOOP}:${BREAK_LINE}`, '--batch', '-', '--timeout', '30'], {
    input: 'wait\nprint i * 1000\nbacktrace\ndetach\n',
    env: ENV,
  });
  assert.equal(attached.code, 0, attached.stdout + attached.stderr);
  assert.match(attached.stdout, /\(longreach-python [^)]*\)/, 'the banner names the agent, not the hub');
  assert.match(attached.stdout, /Stopped at breakpoint 1/);
  assert.match(attached.stdout, /\d+000/);
  assert.match(attached.stdout, /tick/);
  await hub.waitFor(new RegExp(`client .* selected pid ${pid}`));
  // detached: the program runs on, still without a listening socket, and can be attached again
  assertNoListeningSocket(pid, hub.port);
  const again = await runCli(['attach', `tcp://127.0.0.1:${hub.port}?pid=${pid}`, '--secret-env', 'LR_CLIENT_SECRET', '--batch', '-', '--timeout', '30'], { input: 'threads\ndetach\n', env: ENV });
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /MainThread/);
  assert.equal(agent.child.exitCode, null, 'the program still runs');
});

test('tcps://: the hub serves a certificate from `longreach cert create`; the agent pins its fingerprint', { timeout: 90_000 }, async (t) => {
  const dir = tempDir(t, 'longreach-hub-');
  const made = await runCli(['cert', 'create', '--out', dir]);
  assert.equal(made.code, 0, made.stdout + made.stderr);
  const fingerprint = /Fingerprint: (sha256:[0-9a-f]{64})/.exec(made.stdout)?.[1];
  assert.ok(fingerprint, made.stdout);
  const hub = await startHubProcess(t, { tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } });
  assert.ok(hub.stdout().includes(fingerprint), 'the hub prints its fingerprint');
  const agent = startPythonDialer(t, hub.port, { extra: ['--fingerprint', fingerprint.toUpperCase().replace('SHA256:', 'sha256:')] });
  const pid = agent.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  assertNoListeningSocket(pid, hub.port);

  const listed = await runCli(['list', `tcps://127.0.0.1:${hub.port}?fingerprint=${fingerprint}`, '--secret-env', 'LR_CLIENT_SECRET', '--json'], { env: ENV });
  assert.equal(listed.code, 0, listed.stdout + listed.stderr);
  assert.deepEqual(listJson(listed.stdout).map((r) => r.pid), [pid]);
  const attached = await runCli(
    ['attach', `tcps://127.0.0.1:${hub.port}?pid=${pid}&fingerprint=${fingerprint}`, '--secret-env', 'LR_CLIENT_SECRET', '--break', `${HUB_LOOP}:${BREAK_LINE}`, '--batch', '-', '--timeout', '30'],
    { input: 'wait\nprint i + 1\ndetach\n', env: ENV },
  );
  assert.equal(attached.code, 0, attached.stdout + attached.stderr);
  assert.match(attached.stdout, /Stopped at breakpoint 1/);

  // an agent given the hub's cert.pem as its CA trusts it too (the certificate names 127.0.0.1)
  const byCa = startPythonDialer(t, hub.port, { extra: ['--ca', join(dir, 'cert.pem')] });
  await hub.waitFor(new RegExp(`agent connected: pid ${byCa.child.pid} `));
  assertNoListeningSocket(byCa.child.pid!, hub.port);

  // an agent pinning another fingerprint never says anything to this hub
  const wrongPin = startPythonDialer(t, hub.port, { extra: ['--fingerprint', `sha256:${'ab'.repeat(32)}`], script: [HUB_LOOP, '20'] });
  assert.equal(await wrongPin.exited, 0, wrongPin.stderr());
  assert.match(wrongPin.stdout(), /done after 20 ticks/);
  assert.doesNotMatch(hub.stdout(), new RegExp(`pid ${wrongPin.child.pid}`));
});

test('a hub without the secret learns nothing, not even the pid, and the program runs on', { timeout: 60_000 }, async (t) => {
  // A fake hub that records everything an agent sends and answers the hello with a proof it cannot make.
  const received: DapMessage[] = [];
  let connections = 0;
  const fake = createServer((socket: Socket) => {
    connections += 1;
    const decoder = new FrameDecoder(64 * 1024);
    socket.on('data', (chunk) => {
      for (const m of decoder.push(chunk)) {
        received.push(m);
        socket.write(encodeFrame({ seq: 1, type: 'response', request_seq: m.seq, command: m.command, success: true, body: { protocol: 1, nonce: Buffer.alloc(32, 7).toString('base64'), proof: 'ab'.repeat(32) } }));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  t.after(() => fake.close());
  const fakePort = (fake.address() as { port: number }).port;
  const agent = startPythonDialer(t, fakePort, { script: [HUB_LOOP, '40'], env: { LONGREACH_LOG: 'auth', LONGREACH_LOG_FILE: join(tempDir(t, 'longreach-hub-log-'), 'agent.log') } });
  const status = await agent.exited;
  assert.equal(status, 0, agent.stderr());
  assert.equal(agent.stdout(), 'started\ndone after 40 ticks\n', 'the program ran as without the agent');
  assert.equal(agent.stderr(), '', 'nothing on the program\'s stderr');
  assert.ok(received.length >= 1);
  for (const m of received) {
    assert.equal(m.command, 'longreach/agentHello', 'the agent sent nothing after the hub failed its proof');
    assert.deepEqual(Object.keys(m.arguments as object).sort(), ['longreachProtocol', 'nonce']);
  }
  assert.equal(connections, 1, 'after a refused proof the agent retries slowly, not at once');

  // A real hub with another secret: the agent never appears in it; the program ends normally.
  const hub = await startHubProcess(t, { secret: 'another-secret' });
  const other = startPythonDialer(t, hub.port, { script: [HUB_LOOP, '40'] });
  assert.equal(await other.exited, 0, other.stderr());
  assert.match(other.stdout(), /done after 40 ticks/);
  const listed = await runCli(['list', `tcp://127.0.0.1:${hub.port}`, '--secret-env', 'LR_OTHER', '--json'], { env: { LR_OTHER: 'another-secret' } });
  assert.equal(listJson(listed.stdout).filter((r) => r.ok).length, 0, listed.stdout);
  assert.doesNotMatch(hub.stdout(), /agent connected/);
});

test('the hub restarted mid-run is found again; a client gets LR_NO_SUCH_PROCESS for a pid it does not have', { timeout: 90_000 }, async (t) => {
  const first = await startHubProcess(t);
  const agent = startPythonDialer(t, first.port);
  const pid = agent.child.pid!;
  await first.waitFor(new RegExp(`agent connected: pid ${pid} `));
  await first.stop();
  const second = await startHubProcess(t, { port: first.port });
  await second.waitFor(new RegExp(`agent connected: pid ${pid} `), 20_000);
  const attached = await runCli(['attach', `tcp://127.0.0.1:${second.port}?pid=${pid}`, '--secret-env', 'LR_CLIENT_SECRET', '--break', `${HUB_LOOP}:${BREAK_LINE}`, '--batch', '-', '--timeout', '30'], {
    input: 'wait\ndetach\n',
    env: ENV,
  });
  assert.equal(attached.code, 0, attached.stdout + attached.stderr);
  assert.match(attached.stdout, /Stopped at breakpoint 1/);

  const unknown = pid + 100000;
  const bad = await runCli(['attach', `tcp://127.0.0.1:${second.port}?pid=${unknown}`, '--secret-env', 'LR_CLIENT_SECRET', '--batch', '-', '--timeout', '20'], { input: 'detach\n', env: ENV });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout + bad.stderr, new RegExp(`LR_NO_SUCH_PROCESS.*no process ${unknown} .*processes: ${pid}`));
  const badList = await runCli(['list', `tcp://127.0.0.1:${second.port}?pid=${unknown}`, '--secret-env', 'LR_CLIENT_SECRET'], { env: ENV });
  assert.equal(badList.code, 1);
  assert.match(badList.stdout, /LR_NO_SUCH_PROCESS/);
  const noPid = await runCli(['attach', `tcp://127.0.0.1:${second.port}`, '--secret-env', 'LR_CLIENT_SECRET', '--batch', '-', '--timeout', '20'], { input: 'detach\n', env: ENV });
  assert.notEqual(noPid.code, 0);
  assert.match(noPid.stdout + noPid.stderr, /hub .*\?pid=PID/);
  const wrong = await runCli(['list', `tcp://127.0.0.1:${second.port}`, '--secret-env', 'LR_WRONG', '--json'], { env: { LR_WRONG: 'nope' } });
  assert.match(wrong.stdout, /LR_AUTH_FAILED/);
});

test('--wait in connect mode: the program starts only once a debugger attached through the hub', { timeout: 60_000 }, async (t) => {
  const hub = await startHubProcess(t);
  const agent = startPythonDialer(t, hub.port, { extra: ['--wait'], script: [HUB_LOOP, '10'] });
  const pid = agent.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(agent.stdout(), '', 'the program waits for a debugger');
  const attached = await runCli(['attach', `tcp://127.0.0.1:${hub.port}?pid=${pid}`, '--secret-env', 'LR_CLIENT_SECRET', '--batch', '-', '--timeout', '30'], { input: 'detach\n', env: ENV });
  assert.equal(attached.code, 0, attached.stdout + attached.stderr);
  assert.equal(await agent.exited, 0, agent.stderr());
  await until('program output', () => /done after 10 ticks/.test(agent.stdout()));
});

test('from code: enable_attach(secret, connect=...) returns at once, wait_for_attach() returns once attached through the hub', { timeout: 60_000 }, async (t) => {
  const hub = await startHubProcess(t);
  const code = [
    'import os, longreach',
    `print(longreach.enable_attach(os.environ["LR_TEST_SECRET"], connect=("127.0.0.1", ${hub.port})), flush=True)`,
    'print(longreach.is_attached(), longreach.wait_for_attach(timeout=0.2), flush=True)',
    'print("attached", longreach.wait_for_attach(timeout=30), longreach.is_attached(), flush=True)',
  ].join('\n');
  const agent = spawnPython(t, ['-c', code], { env: { LR_TEST_SECRET: HUB_SECRET } });
  const pid = agent.child.pid!;
  await hub.waitFor(new RegExp(`agent connected: pid ${pid} `));
  await until('not attached yet', () => agent.stdout().includes('False False'));
  assert.match(agent.stdout(), new RegExp(`^\\('127\\.0\\.0\\.1', ${hub.port}\\)\\n`));
  const attached = runCli(['attach', `tcp://127.0.0.1:${hub.port}?pid=${pid}`, '--secret-env', 'LR_CLIENT_SECRET', '--batch', '-', '--timeout', '30'], { input: 'wait\n', env: ENV });
  await until('wait_for_attach returned', () => agent.stdout().includes('attached True True'));
  assert.equal((await attached).code, 0);
  assert.equal(await agent.exited, 0, agent.stderr());
});

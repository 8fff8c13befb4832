// `longreach list` through the built CLI: a real listing, and every reason a target cannot be listed, each on its
// own line with its code: wrong secret, not a Longreach server, version mismatch, refused, timed out, TLS untrusted.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createSelfSignedCertificate } from '../../src/protocol/certs.js';
import { encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import { runCli, startAgent } from '../helpers/cli.js';
import { startTestServer } from '../helpers/test-server.js';
import { closedPort } from '../helpers/tls-fixtures.js';

/** A fresh config dir, so known_hosts and history of the person running the tests are never touched. */
function configEnv(t: TestContext): NodeJS.ProcessEnv {
  const dir = mkdtempSync(join(tmpdir(), 'lr-cli-list-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { XDG_CONFIG_HOME: dir };
}

async function peer(t: TestContext, onData: (socket: Socket, data: Buffer) => void): Promise<number> {
  const server = createServer((socket) => {
    socket.on('data', (data) => onData(socket, data));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

async function list(t: TestContext, args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(['list', ...args], { env: { ...configEnv(t), ...env } });
}

test('list: the Python agent shows up as a row (pid, program, runtime, user)', async (t) => {
  const agent = await startAgent(t, '-c', { wait: false, args: ['import time; time.sleep(30)'] });
  const r = await list(t, [`tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET'], { LR_CLI_SECRET: 'cli-secret' });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /TARGET\s+PID\s+PROGRAM\s+RUNTIME/);
  assert.match(r.stdout, new RegExp(`tcp://127\\.0\\.0\\.1:${agent.port}\\s+${agent.child.pid}\\s+\\S+\\s+CPython`));
  const json = await list(t, [`tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET', '--json'], { LR_CLI_SECRET: 'cli-secret' });
  const row = JSON.parse(json.stdout.trim()) as { ok: boolean; info: { pid: number } };
  assert.equal(row.ok, true);
  assert.equal(row.info.pid, agent.child.pid);
});

test('list: wrong secret', async (t) => {
  const server = await startTestServer(t);
  const r = await list(t, [`tcp://127.0.0.1:${server.port}`, '--secret-env', 'LR_WRONG'], { LR_WRONG: 'not-the-secret' });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /error \[LR_AUTH_FAILED\]: .*secret did not match/);
  assert.doesNotMatch(r.stdout + r.stderr, /not-the-secret/);
});

test('list: not a Longreach server (an HTTP server, and a plain DAP server)', async (t) => {
  const http = await peer(t, (socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
  const dap = await peer(t, (socket, data) => {
    for (const m of new FrameDecoder().push(data)) socket.write(encodeFrame({ seq: 1, type: 'response', request_seq: m.seq, command: m.command, success: true, body: { supportsConfigurationDoneRequest: true } }));
  });
  const r = await list(t, [`tcp://127.0.0.1:${http}`, `tcp://127.0.0.1:${dap}`]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${http}\\s+error \\[LR_NOT_LONGREACH\\]: .*not a Longreach agent`));
  assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${dap}\\s+error \\[LR_NOT_LONGREACH\\]: .*plain DAP server`));
});

test('list: protocol version mismatch names both versions', async (t) => {
  const port = await peer(t, (socket, data) => {
    for (const m of new FrameDecoder().push(data)) socket.write(encodeFrame({ seq: 1, type: 'response', request_seq: m.seq, command: m.command, success: true, body: { longreach: { protocol: 2, agent: 'future 9', auth: 'none' } } }));
  });
  const r = await list(t, [`tcp://127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /error \[LR_VERSION_MISMATCH\]: .*protocol 2, this client speaks protocol 1/);
});

test('list: refused and timed out, and a range gives one line per port', async (t) => {
  const refused = await closedPort();
  const silent = await peer(t, () => undefined);
  const r = await list(t, [`tcp://127.0.0.1:${refused}`, `tcp://127.0.0.1:${silent}`, '--timeout', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^no processes could be listed$/m);
  assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${refused}\\s+error \\[LR_REFUSED\\]`));
  assert.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${silent}\\s+error \\[LR_TIMEOUT\\]`));
});

test('list: an untrusted TLS certificate without a terminal fails with the fingerprint and how to pin it', async (t) => {
  const cert = await createSelfSignedCertificate({ hosts: ['127.0.0.1'] });
  const server = await startTestServer(t, { tls: { cert: cert.certPem, key: cert.keyPem } });
  const r = await list(t, [`tcps://127.0.0.1:${server.port}`, '--secret-env', 'S'], { S: 's3cret' });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /error \[LR_TLS_UNTRUSTED\]/);
  const hex = cert.fingerprint.replace(/^sha256:/i, '').replace(/:/g, '').toLowerCase();
  assert.ok(r.stdout.replace(/:/g, '').toLowerCase().includes(hex), `the fingerprint is shown: ${r.stdout}`);
  assert.match(r.stdout, /\?fingerprint=/);
  // ...and pinning it as told works.
  const pinned = await list(t, [`tcps://127.0.0.1:${server.port}?fingerprint=${cert.fingerprint}`, '--secret-env', 'S'], { S: 's3cret' });
  assert.equal(pinned.code, 0, pinned.stdout + pinned.stderr);
  assert.doesNotMatch(pinned.stdout, /error/);
});

// The client library against the real server core, over TCP and TLS, and against peers that are not
// what the qualifier says (a fake server stands in only for the *other* side of the part under test).

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect } from '../../src/client/connect.js';
import { listProcesses } from '../../src/client/list.js';
import { createSelfSignedCertificate } from '../../src/protocol/certs.js';
import { encodeFrame, FrameDecoder } from '../../src/protocol/framing.js';
import { startTestServer } from '../helpers/test-server.js';

function tempFile(name: string, text = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'lr-client-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function fakeServer(t: TestContext, onData: (socket: import('node:net').Socket, data: Buffer) => void): Promise<number> {
  const server: Server = createServer((socket) => {
    socket.on('data', (data) => onData(socket, data));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.unref();
  return (server.address() as import('node:net').AddressInfo).port;
}

/** Answers initialize with the given capabilities and authenticate with the given body. */
async function scriptedServer(t: TestContext, capabilities: object, authBody?: object): Promise<number> {
  return fakeServer(t, (socket, data) => {
    for (const m of new FrameDecoder().push(data)) {
      const body = m.command === 'initialize' ? capabilities : authBody;
      socket.write(encodeFrame({ seq: 1, type: 'response', request_seq: m.seq, command: m.command, success: true, body }));
    }
  });
}

test('connect over tcp://, authenticate, attach, receive events, request, disconnect', async (t) => {
  const server = await startTestServer(t);
  const session = await connect(`tcp://s3cret@127.0.0.1:${server.port}`);
  assert.equal(session.hello.longreach?.auth, 'hmac-sha256');
  assert.match(session.hello.longreach?.agent ?? '', /^longreach-node /);
  const initialized = session.waitForEvent('initialized');
  await session.request('attach', { pathMappings: [] });
  await initialized;
  assert.deepEqual(await session.request('threads'), { threads: [{ id: 1, name: 'main' }] });
  await assert.rejects(session.request('nope'), { code: 'LR_UNSUPPORTED' });
  await session.disconnect();
  assert.equal(server.record.closes, 1);
});

test('after authentication frames larger than 64 KiB flow both ways', async (t) => {
  const server = await startTestServer(t);
  const session = await connect(`tcp://s3cret@127.0.0.1:${server.port}`);
  await session.request('attach', {});
  const big = 'x'.repeat(200_000);
  assert.deepEqual(await session.request('echo', { big }), { big });
  session.close();
});

test('the secret may come from options instead of the qualifier; percent-encoding is decoded', async (t) => {
  const server = await startTestServer(t, { secret: 'p@ss:w/rd' });
  (await connect(`tcp://127.0.0.1:${server.port}`, { secret: 'p@ss:w/rd' })).close();
  (await connect(`tcp://p%40ss%3Aw%2Frd@127.0.0.1:${server.port}`)).close();
});

test('a wrong secret fails with LR_AUTH_FAILED and the secret is nowhere in the error', async (t) => {
  const server = await startTestServer(t);
  await assert.rejects(connect(`tcp://hunter2@127.0.0.1:${server.port}`), (err: any) => {
    assert.equal(err.code, 'LR_AUTH_FAILED');
    assert.doesNotMatch(err.message + String(err.stack), /hunter2/);
    return true;
  });
});

test('a missing secret fails with LR_SECRET_REQUIRED saying where to put it', async (t) => {
  const server = await startTestServer(t);
  await assert.rejects(connect(`tcp://127.0.0.1:${server.port}`), { code: 'LR_SECRET_REQUIRED', message: /put it before @/ });
});

test('a server without a secret lets a client without one in', async (t) => {
  const server = await startTestServer(t, { secret: null });
  const session = await connect(`tcp://127.0.0.1:${server.port}`);
  assert.equal(session.hello.longreach?.auth, 'none');
  session.close();
});

test('a server that does not know the secret is caught by the mutual check', async (t) => {
  const port = await scriptedServer(t, { longreach: { protocol: 1, agent: 'impostor', auth: 'hmac-sha256', nonce: Buffer.alloc(32).toString('base64') } }, { serverProof: 'ab'.repeat(32) });
  await assert.rejects(connect(`tcp://s3cret@127.0.0.1:${port}`), { code: 'LR_AUTH_FAILED', message: /does not know the secret/ });
});

test('a server speaking another protocol version is named with both versions', async (t) => {
  const port = await scriptedServer(t, { longreach: { protocol: 7, agent: 'future', auth: 'none' } });
  await assert.rejects(connect(`tcp://127.0.0.1:${port}`), { code: 'LR_VERSION_MISMATCH', message: /speaks Longreach protocol 7, this client speaks protocol 1/ });
});

test('a plain DAP server is usable without a secret and refused with one', async (t) => {
  const port = await scriptedServer(t, { supportsConfigurationDoneRequest: true });
  const session = await connect(`tcp://127.0.0.1:${port}`);
  assert.equal(session.hello.longreach, null);
  session.close();
  await assert.rejects(connect(`tcp://s@127.0.0.1:${port}`), { code: 'LR_NOT_LONGREACH' });
});

test('something that is not DAP at all gets LR_NOT_LONGREACH', async (t) => {
  const port = await fakeServer(t, (socket) => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
  await assert.rejects(connect(`tcp://127.0.0.1:${port}`), { code: 'LR_NOT_LONGREACH', message: /not a Longreach agent/ });
});

test('a refused port and a silent server give LR_REFUSED and LR_TIMEOUT', async (t) => {
  const silent = await fakeServer(t, () => undefined);
  await assert.rejects(connect(`tcp://127.0.0.1:${silent}`, { timeoutMs: 300 }), { code: 'LR_TIMEOUT', message: /no answer to initialize/ });
  const server = await startTestServer(t);
  const port = server.port;
  await server.close();
  await assert.rejects(connect(`tcp://s@127.0.0.1:${port}`), { code: 'LR_REFUSED' });
});

test('tcps:// with a pinned fingerprint, a CA file, and insecure=1 (with its warning)', async (t) => {
  const cert = await createSelfSignedCertificate({ hosts: ['localhost', '127.0.0.1'] });
  const server = await startTestServer(t, { tls: { cert: cert.certPem, key: cert.keyPem } });
  const knownHostsPath = tempFile('known_hosts');

  const pinned = await connect(`tcps://s3cret@127.0.0.1:${server.port}?fingerprint=${cert.fingerprint}`, { knownHostsPath });
  pinned.close();
  const ca = tempFile('ca.pem', cert.certPem);
  const viaCa = await connect(`tcps://s3cret@localhost:${server.port}?ca=${ca}`, { knownHostsPath });
  viaCa.close();
  const warnings: string[] = [];
  const insecure = await connect(`tcps://s3cret@127.0.0.1:${server.port}?insecure=1`, { knownHostsPath, onWarning: (w) => warnings.push(w) });
  insecure.close();
  assert.equal(warnings.length, 1);
});

test('tcps:// trust on first use: ask, remember, then a changed certificate is a hard error', async (t) => {
  const first = await createSelfSignedCertificate({ hosts: ['127.0.0.1'] });
  const server = await startTestServer(t, { tls: { cert: first.certPem, key: first.keyPem } });
  const knownHostsPath = tempFile('known_hosts');
  const qualifier = `tcps://s3cret@127.0.0.1:${server.port}`;
  await assert.rejects(connect(qualifier, { knownHostsPath }), { code: 'LR_TLS_UNTRUSTED', message: new RegExp(first.fingerprint) });
  let asked = 0;
  (await connect(qualifier, { knownHostsPath, decide: async () => (asked++, 'always') })).close();
  (await connect(qualifier, { knownHostsPath, decide: async () => (asked++, 'abort') })).close();
  assert.equal(asked, 1, 'a remembered certificate is not asked about again');

  await server.close();
  const second = await createSelfSignedCertificate({ hosts: ['127.0.0.1'] });
  const replaced = await startTestServer(t, { tls: { cert: second.certPem, key: second.keyPem }, port: server.port });
  await assert.rejects(connect(`tcps://s3cret@127.0.0.1:${replaced.port}`, { knownHostsPath }), (err: any) => {
    assert.equal(err.code, 'LR_TLS_CHANGED');
    assert.ok(err.message.includes(second.fingerprint) || err.message.includes(second.fingerprint.slice(7, 20).toUpperCase()));
    return true;
  });
});

test('a plain client to a TLS server and a TLS client to a plain server are told to switch scheme', async (t) => {
  const cert = await createSelfSignedCertificate({ hosts: ['127.0.0.1'] });
  const tlsServer = await startTestServer(t, { tls: { cert: cert.certPem, key: cert.keyPem } });
  await assert.rejects(connect(`tcp://s3cret@127.0.0.1:${tlsServer.port}`, { timeoutMs: 3000 }), (err: any) => {
    assert.match(err.code, /LR_TLS_MISMATCH|LR_CLOSED/);
    assert.match(err.message, /tcps:\/\//);
    return true;
  });
  const plain = await startTestServer(t);
  await assert.rejects(connect(`tcps://s3cret@127.0.0.1:${plain.port}?insecure=1`, { timeoutMs: 3000 }), { code: 'LR_TLS_MISMATCH', message: /tcp:\/\// });
});

test('the secret in attach is accepted over TLS from an off-the-shelf client', async (t) => {
  const cert = await createSelfSignedCertificate({ hosts: ['127.0.0.1'] });
  const server = await startTestServer(t, { tls: { cert: cert.certPem, key: cert.keyPem } });
  // No authenticate: the client's session is not yet authenticated, as an editor's would not be.
  const session = await connect(`tcps://127.0.0.1:${server.port}?fingerprint=${cert.fingerprint}`, { secret: null }).catch((e) => e);
  assert.equal(session.code, 'LR_SECRET_REQUIRED');
  const { connectTls } = await import('../../src/protocol/trust.js');
  const { DapConnection } = await import('../../src/protocol/connection.js');
  const { DapSession } = await import('../../src/client/session.js');
  const { socket } = await connectTls({ host: '127.0.0.1', port: server.port, fingerprint: cert.fingerprint });
  const raw = new DapSession(new DapConnection(socket, { peer: 'x' }), { target: 'x' });
  await raw.request('initialize', { adapterID: 'vscode' });
  await assert.rejects(raw.request('threads'), { code: 'LR_AUTH_REQUIRED' });
  await raw.request('attach', { secret: 's3cret' });
  assert.deepEqual(server.record.attaches, [{}]);
  raw.close();
});

test('listing: each port of a range gets its own row, and listing does not disturb an attached debugger', async (t) => {
  const server = await startTestServer(t);
  const debuggerSession = await connect(`tcp://s3cret@127.0.0.1:${server.port}`);
  await debuggerSession.request('attach', {});
  const rows = await listProcesses(`tcp://s3cret@127.0.0.1:${server.port}-${server.port + 1}`);
  assert.equal(rows.length, 2);
  const [live, dead] = rows;
  assert.ok(live?.ok);
  if (live?.ok) {
    assert.equal(live.info.pid, process.pid);
    assert.equal(live.info.runtime, 'Node.js');
    assert.match(live.info.attached?.since ?? '', /Z$/);
    assert.equal(live.target, `tcp://***@127.0.0.1:${server.port}`);
  }
  assert.equal(dead?.ok, false);
  if (dead && !dead.ok) assert.equal(dead.code, 'LR_REFUSED');
  assert.deepEqual(await debuggerSession.request('threads'), { threads: [{ id: 1, name: 'main' }] });
  debuggerSession.close();
  const wrong = await listProcesses(`tcp://nope@127.0.0.1:${server.port}`);
  assert.equal(wrong[0]?.ok === false && wrong[0].code, 'LR_AUTH_FAILED');
});

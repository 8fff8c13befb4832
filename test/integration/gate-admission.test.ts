// Who may wait at the Node.js server core's gate (src/server/admission.ts): a cap per source address, random early
// drop beyond `start`, places given back on authentication, and a bound on requests before authenticating.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { computeProof } from '../../src/protocol/auth.js';
import { Admission, PER_SOURCE } from '../../src/server/admission.js';
import { MAX_PENDING_REQUESTS } from '../../src/server/gate.js';
import { codeOf, RawClient } from '../helpers/raw-client.js';
import { startTestServer } from '../helpers/test-server.js';
import { createTestCa } from '../helpers/tls-fixtures.js';

function from(source: string, port: number, tls = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port, localAddress: source }, () => {
      if (!tls) socket.write('Content-Len');
      resolve(socket);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
  });
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve(true);
  socket.resume();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function authenticate(port: number): Promise<RawClient> {
  const client = await RawClient.open(port);
  const hello = await client.request('initialize', { adapterID: 'test', longreachProtocol: 1 });
  const nonce = Buffer.from((hello.body as any).longreach.nonce, 'base64');
  const cn = Buffer.alloc(32, 3);
  const reply = await client.request('authenticate', { clientNonce: cn.toString('base64'), proof: computeProof('s3cret', 'client', nonce, cn) });
  assert.equal(reply.success, true);
  return client;
}

test('Admission: a cap per source, places given back once, nobody beyond full', () => {
  const a = new Admission({ perSource: 2, start: 10, full: 20 });
  const one = a.admit('x');
  assert.ok(one && a.admit('x'));
  assert.equal(a.admit('x'), null);
  assert.ok(a.admit('y'));
  one.release();
  one.release();
  assert.equal(a.pending, 2);
  assert.ok(a.admit('x'));
  let draws = 0;
  const b = new Admission({ perSource: 1000, start: 10, rate: 0.3, full: 20, random: () => ((draws++ * 7919) % 1000) / 1000 });
  for (let i = 0; i < 10; i++) assert.ok(b.admit(`ip${i}`), 'below start everyone is admitted');
  let tries = 0;
  while (b.pending < 20 && tries < 10_000) b.admit(`z${tries++}`);
  assert.equal(b.pending, 20);
  assert.ok(tries > 10, 'some were dropped between start and full');
  assert.equal(b.admit('late'), null);
});

test('beyond the per-source cap a connection is closed at once; other addresses still get in', async (t) => {
  const server = await startTestServer(t);
  const held = await Promise.all(Array.from({ length: PER_SOURCE }, () => from('127.0.0.2', server.port)));
  t.after(() => held.forEach((s) => s.destroy()));
  const extra = await from('127.0.0.2', server.port);
  t.after(() => extra.destroy());
  assert.equal(await closedWithin(extra, 2000), true);
  assert.equal(await closedWithin(held[0]!, 200), false);
  const ok = await authenticate(server.port);
  ok.destroy();
});

test('TLS connections hold their place from before the handshake', async (t) => {
  const ca = await createTestCa();
  const leaf = await ca.issue(['localhost', '127.0.0.1']);
  const server = await startTestServer(t, { tls: { cert: leaf.certPem, key: leaf.keyPem } });
  const held = await Promise.all(Array.from({ length: PER_SOURCE }, () => from('127.0.0.2', server.port, true)));
  t.after(() => held.forEach((s) => s.destroy()));
  const extra = await from('127.0.0.2', server.port, true);
  t.after(() => extra.destroy());
  assert.equal(await closedWithin(extra, 2000), true);
  const good = tlsConnect({ host: '127.0.0.1', port: server.port, ca: ca.certPem, servername: 'localhost' });
  t.after(() => good.destroy());
  await new Promise<void>((resolve, reject) => {
    good.once('secureConnect', () => resolve());
    good.once('error', reject);
  });
});

test('authenticating gives the place back', async (t) => {
  const server = await startTestServer(t);
  for (let i = 0; i < PER_SOURCE + 2; i++) {
    const client = await authenticate(server.port);
    t.after(() => client.destroy());
  }
});

test(`more than ${MAX_PENDING_REQUESTS} requests before authenticating close the connection`, async (t) => {
  const server = await startTestServer(t);
  const client = await RawClient.open(server.port);
  t.after(() => client.destroy());
  for (let i = 0; i < MAX_PENDING_REQUESTS; i++) assert.equal(codeOf(await client.request('threads')), 'LR_AUTH_REQUIRED');
  client.send('threads');
  const error = await client.next((m) => m.type === 'event' && m.event === 'longreach/error');
  assert.equal((error.body as any).code, 'LR_BAD_REQUEST');
  assert.match((error.body as any).message, /before authenticating/);
  assert.equal(await client.closedWithin(2000), true);
});

test('a new session opens only once the last one has finished closing (its teardown is asynchronous)', async (t) => {
  // Found by npm run bench:soak: a session attached while the vanished one was still closing had its stop
  // resumed under it ("stackTrace needs the program to be stopped" right after a stopped event).
  let finishClose: () => void = () => undefined;
  const created: string[] = [];
  const server = await startTestServer(t, {
    createSession: (context) => {
      created.push(context.peer);
      return {
        handle: () => undefined,
        started: () => context.sendEvent('initialized'),
        close: () => new Promise<void>((resolve) => (finishClose = resolve)),
      };
    },
  });
  const first = await authenticate(server.port);
  assert.equal((await first.request('attach', {})).success, true);
  first.destroy(); // vanishes: its session starts closing and does not finish yet
  await first.closed;
  const second = await authenticate(server.port);
  t.after(() => second.destroy());
  const seq = second.send('attach', {});
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(created.length, 1, 'a session was opened while the last one was still closing');
  assert.equal(second.messages.find((m) => m.type === 'response' && m.request_seq === seq), undefined);
  const other = await authenticate(server.port);
  t.after(() => other.destroy());
  assert.equal(codeOf(await other.request('attach', {})), 'LR_ALREADY_ATTACHED', 'the slot is held while waiting');
  finishClose();
  assert.equal((await second.response(seq)).success, true);
  assert.equal(created.length, 2);
});

test('a framing error after attach detaches the session at once, not when the socket has finished closing', async (t) => {
  // Found by the wire fuzzer: the session stayed attached (and the program stopped) for the second the socket
  // takes to close, so the next attach was refused with LR_ALREADY_ATTACHED.
  const server = await startTestServer(t);
  const client = await authenticate(server.port);
  t.after(() => client.destroy());
  assert.equal((await client.request('attach', {})).success, true);
  client.write(Buffer.from('Content-Length: 2\r\n\r\n\xff\xfe', 'latin1'));
  const error = await client.next((m) => m.type === 'event' && m.event === 'longreach/error');
  assert.equal((error.body as any).code, 'LR_BAD_FRAME');
  assert.equal(server.record.closes, 1, 'the session was still attached after the framing error');
  const next = await authenticate(server.port);
  t.after(() => next.destroy());
  assert.equal((await next.request('attach', {})).success, true);
});

test('a connection closed for bad framing gives its place back at once, while its socket still lingers', async (t) => {
  // Found by the wire fuzzer: such connections kept their places for the second their sockets linger, and under a
  // burst of them legitimate connections were refused.
  const server = await startTestServer(t);
  const bad = await Promise.all(Array.from({ length: PER_SOURCE }, () => from('127.0.0.2', server.port)));
  t.after(() => bad.forEach((s) => s.destroy()));
  for (const socket of bad) socket.write(': no header name\r\n\r\n'); // after 'Content-Len': a malformed header
  await new Promise((resolve) => setTimeout(resolve, 200));
  const again = await from('127.0.0.2', server.port);
  t.after(() => again.destroy());
  assert.equal(await closedWithin(again, 300), false, 'refused: the failed connections still held their places');
});

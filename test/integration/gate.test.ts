// The server core's gate, driven by a raw peer that sends exactly the bytes each case needs.

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { computeProof } from '../../src/protocol/auth.js';
import { codeOf, RawClient } from '../helpers/raw-client.js';
import { startTestServer } from '../helpers/test-server.js';

async function initialized(port: number): Promise<{ client: RawClient; nonce: Buffer; body: any }> {
  const client = await RawClient.open(port);
  const response = await client.request('initialize', { adapterID: 'test', longreachProtocol: 1 });
  assert.equal(response.success, true);
  const body = response.body as any;
  return { client, nonce: Buffer.from(body.longreach.nonce ?? '', 'base64'), body };
}

function proofFor(secret: string, nonce: Buffer, clientNonce = Buffer.alloc(32, 7)) {
  return { clientNonce: clientNonce.toString('base64'), proof: computeProof(secret, 'client', nonce, clientNonce) };
}

test('initialize announces the protocol, the auth scheme and a fresh 32-byte nonce', async (t) => {
  const server = await startTestServer(t);
  const a = await initialized(server.port);
  const b = await initialized(server.port);
  assert.equal(a.body.longreach.protocol, 1);
  assert.equal(a.body.longreach.auth, 'hmac-sha256');
  assert.match(a.body.longreach.agent, /^longreach-node \d+\.\d+\.\d+/);
  assert.equal(a.body.supportsConfigurationDoneRequest, true);
  assert.equal(a.nonce.length, 32);
  assert.notDeepEqual(a.nonce, b.nonce);
  a.client.destroy();
  b.client.destroy();
});

test('a correct proof authenticates and the server proves it knows the secret too', async (t) => {
  const server = await startTestServer(t);
  const { client, nonce } = await initialized(server.port);
  const cn = Buffer.alloc(32, 9);
  const response = await client.request('authenticate', proofFor('s3cret', nonce, cn));
  assert.equal(response.success, true);
  assert.equal((response.body as any).serverProof, computeProof('s3cret', 'server', nonce, cn));
  assert.equal((await client.request('threads')).success, false, 'threads needs attach first');
  assert.equal((await client.request('longreach/processInfo')).success, true);
  client.destroy();
});

test('a wrong secret is refused with LR_AUTH_FAILED and the connection closes', async (t) => {
  const server = await startTestServer(t);
  const { client, nonce } = await initialized(server.port);
  const response = await client.request('authenticate', proofFor('wrong', nonce));
  assert.equal(response.success, false);
  assert.equal(codeOf(response), 'LR_AUTH_FAILED');
  assert.match((response.body as any).error.format, /check the part before @/);
  assert.ok(await client.closedWithin());
});

test('a proof replayed on another connection is refused', async (t) => {
  const server = await startTestServer(t, { throttleBaseMs: 1 });
  const first = await initialized(server.port);
  const captured = proofFor('s3cret', first.nonce);
  assert.equal((await first.client.request('authenticate', captured)).success, true);
  first.client.destroy();
  const second = await initialized(server.port);
  const replay = await second.client.request('authenticate', captured);
  assert.equal(codeOf(replay), 'LR_AUTH_FAILED');
  assert.ok(await second.client.closedWithin());
});

test('the nonce is single use: a second attempt on the same connection is refused', async (t) => {
  const server = await startTestServer(t);
  const { client, nonce } = await initialized(server.port);
  const proof = proofFor('s3cret', nonce);
  assert.equal((await client.request('authenticate', proof)).success, true);
  const again = await client.request('authenticate', proof);
  assert.equal(codeOf(again), 'LR_BAD_REQUEST');
  client.destroy();
});

test('requests before authentication get LR_AUTH_REQUIRED and no events are sent', async (t) => {
  const server = await startTestServer(t);
  const { client } = await initialized(server.port);
  for (const command of ['threads', 'longreach/processInfo', 'setBreakpoints', 'evaluate', 'attach']) {
    const response = await client.request(command, {});
    assert.equal(codeOf(response), 'LR_AUTH_REQUIRED', command);
    assert.match((response.body as any).error.format, /authentication required/);
  }
  assert.equal(client.messages.filter((m) => m.type === 'event').length, 0);
  client.destroy();
});

test('authenticate before initialize is refused', async (t) => {
  const server = await startTestServer(t);
  const client = await RawClient.open(server.port);
  const response = await client.request('authenticate', { clientNonce: Buffer.alloc(32).toString('base64'), proof: '0'.repeat(64) });
  assert.equal(codeOf(response), 'LR_BAD_REQUEST');
  assert.match((response.body as any).error.format, /initialize first/);
  client.destroy();
});

test('a client speaking another protocol version gets both versions named', async (t) => {
  const server = await startTestServer(t);
  const client = await RawClient.open(server.port);
  const response = await client.request('initialize', { adapterID: 'x', longreachProtocol: 2 });
  assert.equal(codeOf(response), 'LR_VERSION_MISMATCH');
  assert.match((response.body as any).error.format, /client speaks Longreach protocol 2, this agent speaks protocol 1/);
  assert.ok(await client.closedWithin());
});

const hostile: [string, Buffer | string, string][] = [
  ['garbage bytes', Buffer.from([0x00, 0xff, 0x13, 0x37]), 'LR_BAD_FRAME'],
  ['a 2 GB Content-Length', 'Content-Length: 2147483648\r\n\r\n', 'LR_FRAME_TOO_LARGE'],
  ['a frame over 64 KiB before authentication', `Content-Length: ${64 * 1024 + 1}\r\n\r\n`, 'LR_FRAME_TOO_LARGE'],
  ['invalid JSON', 'Content-Length: 9\r\n\r\n{"type": ', 'LR_BAD_MESSAGE'],
  ['a body that is not UTF-8', Buffer.concat([Buffer.from('Content-Length: 3\r\n\r\n'), Buffer.from([0x22, 0xff, 0x22])]), 'LR_BAD_FRAME'],
  ['a TLS ClientHello', Buffer.from('16030100f2010000ee0303', 'hex'), 'LR_BAD_FRAME'],
];
for (const [name, bytes, code] of hostile) {
  test(`${name} gets a longreach/error ${code} and a closed connection`, async (t) => {
    const server = await startTestServer(t);
    const client = await RawClient.open(server.port);
    client.write(bytes);
    const event = await client.next((m) => m.type === 'event');
    assert.equal(event.event, 'longreach/error');
    assert.equal((event.body as any).code, code);
    assert.ok(await client.closedWithin());
    const healthy = await initialized(server.port);
    healthy.client.destroy();
  });
}

test('a truncated frame then a disconnect leaves the server serving', async (t) => {
  const server = await startTestServer(t);
  const client = await RawClient.open(server.port);
  client.write('Content-Length: 100\r\n\r\n{"seq":1,');
  client.destroy();
  const next = await initialized(server.port);
  next.client.destroy();
});

test('a peer that never authenticates is dropped with LR_TIMEOUT', async (t) => {
  const server = await startTestServer(t, { authTimeoutMs: 200 });
  const client = await RawClient.open(server.port);
  const event = await client.next((m) => m.type === 'event');
  assert.equal((event.body as any).code, 'LR_TIMEOUT');
  assert.ok(await client.closedWithin());
});

test('repeated failures from one address are throttled, even with the right secret', async (t) => {
  const server = await startTestServer(t, { throttleBaseMs: 60_000 });
  const bad = await initialized(server.port);
  assert.equal(codeOf(await bad.client.request('authenticate', proofFor('nope', bad.nonce))), 'LR_AUTH_FAILED');
  const good = await initialized(server.port);
  const response = await good.client.request('authenticate', proofFor('s3cret', good.nonce));
  assert.equal(codeOf(response), 'LR_THROTTLED');
  assert.ok(((response.body as any).error.retryAfterMs as number) > 0, JSON.stringify(response.body));
  assert.match((response.body as any).error.format, /too many failed attempts from 127\.0\.0\.1; retry in \d+\.\d s/);
  assert.ok(await good.client.closedWithin());
});

test('a secret in attach is refused over plain TCP unless allowed', async (t) => {
  const strict = await startTestServer(t);
  const a = await initialized(strict.port);
  const refused = await a.client.request('attach', { secret: 's3cret' });
  assert.equal(codeOf(refused), 'LR_INSECURE_SECRET');
  assert.equal(strict.record.attaches.length, 0);

  const lax = await startTestServer(t, { allowPlainSecret: true });
  const b = await initialized(lax.port);
  const ok = await b.client.request('attach', { secret: 's3cret', pathMappings: [] });
  assert.equal(ok.success, true);
  assert.deepEqual(lax.record.attaches, [{ pathMappings: [] }], 'the secret is never passed on to the session');
  await b.client.next((m) => m.event === 'initialized');
  b.client.destroy();

  const c = await initialized(lax.port);
  const wrong = await c.client.request('attach', { secret: 'wrong' });
  assert.equal(codeOf(wrong), 'LR_AUTH_FAILED');
  assert.equal((wrong.body as any).error.format, 'secret did not match (check the "secret" attach argument)');
});

test('one debugger at a time: a second attach names the first and when it came', async (t) => {
  const server = await startTestServer(t);
  const first = await initialized(server.port);
  await first.client.request('authenticate', proofFor('s3cret', first.nonce));
  assert.equal((await first.client.request('attach', {})).success, true);
  const second = await initialized(server.port);
  await second.client.request('authenticate', proofFor('s3cret', second.nonce));
  const refused = await second.client.request('attach', {});
  assert.equal(codeOf(refused), 'LR_ALREADY_ATTACHED');
  const port = first.client.socket.localPort;
  assert.match((refused.body as any).error.format, new RegExp(`already attached by 127\\.0\\.0\\.1:${port} since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`));
  const info = await second.client.request('longreach/processInfo');
  assert.equal((info.body as any).attached.address, `127.0.0.1:${port}`);
  assert.equal((await first.client.request('threads')).success, true, 'listing did not disturb the attached debugger');

  first.client.destroy();
  await first.client.closed;
  await waitFor(() => server.record.closes === 1);
  assert.equal((await second.client.request('attach', {})).success, true, 'after the first detached, the second may attach');
  second.client.destroy();
});

test('disconnect detaches (or terminates when asked) and the server keeps listening', async (t) => {
  const server = await startTestServer(t, { secret: null });
  const a = await initialized(server.port);
  assert.equal((await a.client.request('attach', {})).success, true);
  assert.equal((await a.client.request('disconnect', {})).success, true);
  assert.ok(await a.client.closedWithin());
  assert.equal(server.record.closes, 1);
  const b = await initialized(server.port);
  await b.client.request('attach', {});
  await b.client.request('disconnect', { terminateDebuggee: true });
  assert.equal(server.record.terminates, 1);
  assert.equal(server.record.closes, 1);
});

test('a handler fault becomes LR_INTERNAL and the session goes on; async handlers are answered', async (t) => {
  const server = await startTestServer(t, { secret: null });
  const { client } = await initialized(server.port);
  await client.request('attach', {});
  const fault = await client.request('explode');
  assert.equal(codeOf(fault), 'LR_INTERNAL');
  assert.match((fault.body as any).error.format, /handler bug/);
  assert.deepEqual((await client.request('slow')).body, { slow: true });
  assert.equal(codeOf(await client.request('nonsense')), 'LR_UNSUPPORTED');
  client.destroy();
});

async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- an agent that loads its debug session's code at the first attach (prepareSession)

async function authenticated(port: number): Promise<RawClient> {
  const { client, nonce } = await initialized(port);
  assert.equal((await client.request('authenticate', proofFor('s3cret', nonce))).success, true);
  return client;
}

/** A preparer whose loads the test settles by hand; null once one has succeeded. */
function manualLoads() {
  const loads: { resolve: () => void; reject: (err: Error) => void }[] = [];
  let done = false;
  let pending: Promise<void> | null = null;
  const prepareSession = (): Promise<void> | null => {
    if (done) return null;
    pending ??= new Promise<void>((resolve, reject) => loads.push({ resolve, reject })).then(
      () => {
        done = true;
      },
      (err: unknown) => {
        pending = null;
        throw err;
      },
    );
    return pending;
  };
  return { prepareSession, loads, started: () => loads.length };
}

async function serverThatLoads(t: TestContext) {
  const loader = manualLoads();
  const server = await startTestServer(t, { prepareSession: loader.prepareSession });
  return { loader, server };
}

async function until(what: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !what(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(what(), 'timed out');
}

test('the first attach waits while the session is loaded, holding the slot; later attaches do not load again', async (t) => {
  const { loader, server } = await serverThatLoads(t);
  const first = await authenticated(server.port);
  const attaching = first.request('attach', { n: 1 });
  await until(() => loader.started() === 1);
  const second = await authenticated(server.port);
  const refused = await second.request('attach', {});
  assert.equal(codeOf(refused), 'LR_ALREADY_ATTACHED');
  assert.equal(server.record.contexts.length, 0, 'no session before its code is there');
  loader.loads[0]!.resolve();
  assert.equal((await attaching).success, true);
  assert.deepEqual(server.record.attaches, [{ n: 1 }]);
  assert.equal((await first.request('disconnect', {})).success, true);
  const third = await authenticated(server.port);
  assert.equal((await third.request('attach', { n: 3 })).success, true);
  assert.equal(loader.started(), 1);
  second.destroy();
  third.destroy();
});

test('requests sent right behind an attach whose session is loading wait for it and are answered in order', async (t) => {
  const { loader, server } = await serverThatLoads(t);
  const client = await authenticated(server.port);
  const attach = client.send('attach', {});
  const echo = client.send('echo', { after: 'attach' });
  const threads = client.send('threads', {});
  await until(() => loader.started() === 1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(client.messages.filter((m) => m.type === 'response' && (m.request_seq as number) >= attach).length, 0, 'nothing answered before the session exists');
  loader.loads[0]!.resolve();
  await client.next((m) => m.type === 'response' && m.request_seq === threads);
  const answered = client.messages.filter((m) => m.type === 'response' && (m.request_seq as number) >= attach);
  assert.deepEqual(answered.map((m) => [m.request_seq, m.success]), [[attach, true], [echo, true], [threads, true]]);
  assert.deepEqual(answered[1]!.body, { after: 'attach' });
  client.destroy();
});

test('a session that cannot be loaded fails the attach with LR_INTERNAL saying so, and the next attach tries again', async (t) => {
  const { loader, server } = await serverThatLoads(t);
  const client = await authenticated(server.port);
  const attaching = client.request('attach', {});
  await until(() => loader.started() === 1);
  loader.loads[0]!.reject(new Error('ENOENT: session.js'));
  const failed = await attaching;
  assert.equal(codeOf(failed), 'LR_INTERNAL');
  assert.match((failed.body as any).error.format, /the debug session could not be loaded: ENOENT: session\.js/);
  assert.equal(server.record.contexts.length, 0);
  const again = client.request('attach', { again: true });
  await until(() => loader.started() === 2);
  loader.loads[1]!.resolve();
  assert.equal((await again).success, true);
  assert.deepEqual(server.record.attaches, [{ again: true }]);
  client.destroy();
});

test('a client that goes away while the session loads leaves no session behind, and the slot free', async (t) => {
  const { loader, server } = await serverThatLoads(t);
  const gone = await authenticated(server.port);
  void gone.request('attach', {}).catch(() => undefined);
  await until(() => loader.started() === 1);
  gone.destroy();
  await until(() => server.attached() === null);
  loader.loads[0]!.resolve();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(server.record.contexts.length, 0);
  const next = await authenticated(server.port);
  assert.equal((await next.request('attach', {})).success, true);
  assert.equal(server.record.contexts.length, 1);
  next.destroy();
});

// The hub (src/hub) driven by hand-written agents on raw sockets, for what real agents cannot show yet: a gateway
// agent that reports child processes (listing in tree order, selectProcess forwarded for a child's pid, the client's
// messages relayed unchanged, seq included), and the hub's side of the handshake against hostile agents.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { connect, listProcesses } from '../../src/client/index.js';
import { startHub } from '../../src/hub/hub.js';
import { computeHubProof } from '../../src/protocol/auth.js';
import { encodeFrame, type DapMessage } from '../../src/protocol/framing.js';
import { codeOf, RawClient } from '../helpers/raw-client.js';

const SECRET = 'hub-int-secret';

async function hub(t: TestContext, events: string[] = []): Promise<number> {
  const h = await startHub({ secret: SECRET, host: '127.0.0.1', port: 0, onEvent: (line) => events.push(line) });
  t.after(() => h.close());
  return h.port;
}

/** The agent's side of the handshake by hand; returns the raw connection and the hub's hello body. */
async function dial(port: number, role: 'control' | 'session', { secret = SECRET, ticket }: { secret?: string; ticket?: string } = {}) {
  const c = await RawClient.open(port);
  const agentNonce = randomBytes(32);
  const hello = await c.request('longreach/agentHello', { longreachProtocol: 1, nonce: agentNonce.toString('base64') });
  assert.equal(hello.success, true);
  const body = hello.body as { nonce: string; proof: string };
  const hubNonce = Buffer.from(body.nonce, 'base64');
  const hubProved = body.proof === computeHubProof(secret, 'hub', agentNonce, hubNonce);
  const auth = await c.request('longreach/agentAuth', { proof: computeHubProof(secret, 'agent', agentNonce, hubNonce), role, ...(ticket ? { ticket } : {}) });
  return { c, hubProved, auth };
}

/** Answers every request the hub sends on `c` with answer(message) (a body, or an Error for an error response). */
function serve(c: RawClient, answer: (m: DapMessage) => unknown): DapMessage[] {
  const seen: DapMessage[] = [];
  const done = new Set<DapMessage>();
  const loop = async (): Promise<void> => {
    for (;;) {
      const m = await c.next((x) => x.type === 'request' && !done.has(x), 200).catch(() => null);
      if (c.socket.destroyed) return;
      if (!m) continue;
      done.add(m);
      seen.push(m);
      const body = answer(m);
      const ok = !(body instanceof Error);
      c.write(encodeFrame({ seq: 900 + seen.length, type: 'response', request_seq: m.seq, command: m.command, success: ok, ...(ok ? { body } : { message: 'LR_BAD_REQUEST', body: { error: { id: 1502, format: (body as Error).message, code: 'LR_BAD_REQUEST' } } }) }));
    }
  };
  void loop();
  return seen;
}

function info(pid: number, extra: Record<string, unknown> = {}) {
  return { pid, executable: 'python3', argv: ['train.py'], cwd: '/', runtime: 'CPython', runtimeVersion: '3.11', runtimeDisplay: 'CPython 3.11', os: 'linux', arch: 'x64', hostname: 'h', user: 'u', agent: 'longreach-python', agentVersion: '0', protocol: 1, attached: null, ...extra };
}

test('a gateway agent\'s children are listed and selected through the hub; messages are relayed unchanged', { timeout: 30_000 }, async (t) => {
  const events: string[] = [];
  const port = await hub(t, events);
  const control = await dial(port, 'control');
  assert.ok(control.hubProved, 'the hub proved it knows the secret');
  assert.equal(control.auth.success, true);
  t.after(() => control.c.destroy());
  const sessions: DapMessage[][] = [];
  serve(control.c, (m) => {
    if (m.command === 'longreach/processInfo') return info(100, { processes: [info(100, { ppid: null, label: 'launcher' }), info(101, { ppid: 100, label: 'rank 0' })] });
    if (m.command === 'longreach/openSession') {
      const ticket = (m.arguments as { ticket: string }).ticket;
      void dial(port, 'session', { ticket }).then((s) => {
        t.after(() => s.c.destroy());
        sessions.push(serve(s.c, (r) => {
          if (r.command === 'initialize') return { supportsConfigurationDoneRequest: true, longreach: { protocol: 1 } };
          if (r.command === 'longreach/selectProcess') return (r.arguments as { pid: number }).pid === 101 ? { capabilities: { child: 101 } } : new Error('no such child');
          if (r.command === 'threads') return { threads: [{ id: 1, name: `seq ${r.seq}` }] };
          return {};
        }));
      });
      return {};
    }
    return new Error(`unexpected ${m.command}`);
  });
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(events.some((e) => /agent connected: pid 100 /.test(e)), events.join('\n'));

  const rows = await listProcesses(`tcp://${SECRET}@127.0.0.1:${port}`);
  assert.deepEqual(rows.map((r) => (r.ok ? [r.pid, r.ppid, r.label, r.target.endsWith(`?pid=${r.pid}`)] : r.code)), [
    [100, null, 'launcher', true],
    [101, 100, 'rank 0', true],
  ]);

  const session = await connect(`tcp://${SECRET}@127.0.0.1:${port}?pid=101`);
  t.after(() => session.close());
  assert.deepEqual(session.hello.capabilities, { child: 101 }, 'the child\'s capabilities, from the forwarded selectProcess');
  const body = await session.request<{ threads: Array<{ name: string }> }>('threads');
  assert.equal(body.threads[0]!.name, 'seq 4', 'the client\'s own seq reaches the agent (initialize 1, authenticate 2, selectProcess 3, threads 4)');
  const seen = sessions[0]!.map((m) => m.command);
  assert.deepEqual(seen, ['initialize', 'longreach/selectProcess', 'threads']);
  assert.equal((sessions[0]![0]!.arguments as { clientID?: string }).clientID, 'longreach', 'the client\'s initialize arguments reach the agent');
});

test('the hub refuses an agent without the secret, then throttles its address; bad tickets and versions are refused', { timeout: 30_000 }, async (t) => {
  const events: string[] = [];
  const port = await hub(t, events);
  const impostor = await dial(port, 'control', { secret: 'wrong' });
  assert.equal(impostor.hubProved, false, 'the impostor cannot check the hub\'s proof');
  assert.equal(codeOf(impostor.auth), 'LR_AUTH_FAILED');
  assert.ok(await impostor.c.closedWithin());
  assert.ok(events.some((e) => /refused an agent/.test(e)));

  const again = await RawClient.open(port);
  const hello = await again.request('longreach/agentHello', { longreachProtocol: 1, nonce: randomBytes(32).toString('base64') });
  assert.equal(codeOf(hello), 'LR_THROTTLED');
  assert.ok(await again.closedWithin());
  await new Promise((r) => setTimeout(r, 300));

  const stray = await dial(port, 'session', { ticket: 'A'.repeat(32) });
  assert.equal(codeOf(stray.auth), 'LR_BAD_REQUEST');
  assert.match(String((stray.auth.body as { error: { format: string } }).error.format), /unknown or expired ticket/);
  assert.ok(await stray.c.closedWithin());

  const future = await RawClient.open(port);
  const v2 = await future.request('longreach/agentHello', { longreachProtocol: 2, nonce: randomBytes(32).toString('base64') });
  assert.equal(codeOf(v2), 'LR_VERSION_MISMATCH');
  assert.match(String((v2.body as { error: { format: string } }).error.format), /protocol 2, this hub speaks protocol 1/);

  const client = await RawClient.open(port);
  await client.request('initialize', { adapterID: 'x', longreachProtocol: 1 });
  const early = await client.request('longreach/processInfo');
  assert.equal(codeOf(early), 'LR_AUTH_REQUIRED', 'clients authenticate to the hub before anything');
  assert.doesNotMatch(events.join('\n'), new RegExp(SECRET));
});

test('equal pids on two machines are both listed but cannot be selected; the same process dialing again replaces itself', { timeout: 30_000 }, async (t) => {
  const events: string[] = [];
  const port = await hub(t, events);
  const agents = [];
  for (const host of ['machine-a', 'machine-b', 'machine-a']) {
    const a = await dial(port, 'control');
    t.after(() => a.c.destroy());
    serve(a.c, (m) => (m.command === 'longreach/processInfo' ? info(300, { hostname: host }) : new Error('unexpected')));
    agents.push(a);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(await agents[0]!.c.closedWithin(), 'the older link of machine-a pid 300 was closed when it dialed again');
  const rows = await listProcesses(`tcp://${SECRET}@127.0.0.1:${port}`);
  assert.deepEqual(rows.map((r) => (r.ok ? `${r.info.hostname}:${r.pid}` : r.code)).sort(), ['machine-a:300', 'machine-b:300']);
  await assert.rejects(connect(`tcp://${SECRET}@127.0.0.1:${port}?pid=300`), (err: Error & { code?: string }) => err.code === 'LR_BAD_REQUEST' && /more than one machine.*machine-a.*machine-b|more than one machine.*machine-b.*machine-a/.test(err.message));
});

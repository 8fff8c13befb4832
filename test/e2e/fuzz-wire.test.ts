// A seeded fuzzer for the wire, against both agents (issue 11): framing, JSON, the authentication handshake, and
// every request with random, missing, wrongly typed and oversized arguments, before and after authentication. At
// least 10,000 frames per agent. Afterwards: the agent process is alive, its program's output is exactly what the
// program prints on its own, and a normal attach stops at a breakpoint. FUZZ_SEED=<n> replays a run; the seed is
// printed when a run fails. FUZZ_RUNS scales it (default 450 connections per agent, about 13,000 frames).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import fc from 'fast-check';
import { connect } from '../../src/client/index.js';
import { computeProof } from '../../src/protocol/auth.js';
import { encodeFrame, FrameDecoder, type DapMessage } from '../../src/protocol/framing.js';
import { trackChild } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';
import { freePort, waitForPort } from '../helpers/ports.js';

const SECRET = 'fuzz-secret';
const RUNS = Number(process.env.FUZZ_RUNS ?? 450);
const MIN_FRAMES = 10_000;
const CLOSE_WAIT_MS = 5000;

const COMMANDS = [
  'initialize', 'authenticate', 'attach', 'disconnect', 'longreach/processInfo', 'setBreakpoints', 'setFunctionBreakpoints',
  'setExceptionBreakpoints', 'configurationDone', 'threads', 'stackTrace', 'scopes', 'variables', 'evaluate', 'continue',
  'next', 'stepIn', 'stepOut', 'pause', 'source', 'loadedSources', 'exceptionInfo', 'completions', 'restart', 'launch',
];
// Left out on purpose: they end or change the program by design (terminate, disconnect with terminateDebuggee,
// setVariable, setExpression), which is not what "the program's output unchanged" is about.

// ---- generators ---------------------------------------------------------------------------------------------
const scalar = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string({ maxLength: 30 }), fc.constant(-1), fc.constant(2 ** 53));
const huge = fc.integer({ min: 1000, max: 120_000 }).map((n) => 'x'.repeat(n));
const pathish = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('/', '', 'C:\\a\\b.py', '/etc/passwd', '../../x', '\u0000', 'app.py'), huge);
// evaluate expressions from a small alphabet without '=' or calls: nothing that could change the program
const expression = fc.stringMatching(/^[a-z0-9+\-*/ .[\]%<>!&|^~]{0,30}$/);
const anyValue = fc.oneof(scalar, fc.anything({ maxDepth: 2, maxKeys: 4 }), huge);
const argsFor = (command: string): fc.Arbitrary<unknown> => {
  switch (command) {
    case 'setBreakpoints':
      return fc.record({
        source: fc.oneof(fc.record({ path: pathish }, { requiredKeys: [] }), anyValue),
        breakpoints: fc.oneof(fc.array(fc.record({ line: fc.oneof(fc.integer({ min: -5, max: 40 }), scalar), condition: fc.oneof(expression, anyValue), hitCondition: anyValue, logMessage: fc.oneof(fc.string({ maxLength: 20 }), anyValue) }, { requiredKeys: [] }), { maxLength: 4 }), anyValue),
      }, { requiredKeys: [] });
    case 'evaluate':
      return fc.record({ expression: fc.oneof(expression, anyValue), frameId: fc.oneof(fc.integer({ min: -2, max: 5 }), scalar), context: fc.oneof(fc.constantFrom('repl', 'hover', 'watch'), scalar) }, { requiredKeys: [] });
    case 'stackTrace':
    case 'continue':
    case 'next':
    case 'stepIn':
    case 'stepOut':
    case 'pause':
    case 'exceptionInfo':
      return fc.record({ threadId: fc.oneof(fc.integer({ min: -1, max: 3 }), scalar), startFrame: scalar, levels: scalar }, { requiredKeys: [] });
    case 'variables':
    case 'scopes':
      return fc.record({ variablesReference: fc.oneof(fc.integer({ min: -1, max: 2000 }), scalar), frameId: fc.oneof(fc.integer({ min: -1, max: 20 }), scalar), filter: scalar, start: scalar, count: scalar }, { requiredKeys: [] });
    case 'disconnect':
      return fc.record({ restart: anyValue, terminateDebuggee: fc.constantFrom(false, undefined, 0, 'yes') }, { requiredKeys: [] });
    case 'authenticate':
      return fc.record({ clientNonce: fc.oneof(fc.base64String({ maxLength: 120 }), anyValue), proof: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), anyValue) }, { requiredKeys: [] });
    case 'initialize':
      return fc.record({ longreachProtocol: fc.oneof(fc.constant(1), scalar), adapterID: anyValue }, { requiredKeys: [] });
    default:
      return fc.oneof(fc.constant(undefined), anyValue, fc.dictionary(fc.string({ maxLength: 10 }), anyValue, { maxKeys: 5 }));
  }
};
const request = fc.oneof(fc.constantFrom(...COMMANDS), fc.string({ maxLength: 20 })).chain((command) =>
  fc.record({
    seq: fc.oneof(fc.integer({ min: 1, max: 1000 }), scalar),
    type: fc.oneof(fc.constant('request'), fc.constant('request'), fc.constantFrom('response', 'event'), scalar),
    command: fc.oneof(fc.constant(command), fc.constant(command), scalar),
    arguments: argsFor(command),
  }, { requiredKeys: ['type'] }),
);
const frame = (body: string | Buffer): Buffer => {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`), bytes]);
};
const badFraming = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.constantFrom('Content-Length: -1\r\n\r\n', 'Content-Length: 99999999999999\r\n\r\n', 'Content-Length: abc\r\n\r\n', 'Content-Length: 3\r\nContent-Length: 4\r\n\r\n{}', '\r\n\r\n', 'Content-Type: x\r\n\r\n', 'Content-Length: 2\r\n\r\n{}').map((s) => Buffer.from(s)),
  fc.string({ maxLength: 40 }).map((s) => Buffer.from(`Content-Length: ${s}\r\n\r\n`)),
  fc.string({ maxLength: 2000 }).map((s) => Buffer.from(`X-${s}: 1\r\n`)),
  fc.integer({ min: 60_000, max: 20_000_000 }).map((n) => Buffer.from(`Content-Length: ${n}\r\n\r\n`)),
);
const badJson = fc.oneof(
  fc.string({ maxLength: 200 }).map(frame),
  fc.jsonValue({ maxDepth: 3 }).map((v) => frame(JSON.stringify(v))),
  fc.integer({ min: 200, max: 3000 }).map((d) => frame('['.repeat(d) + ']'.repeat(d))),
  fc.uint8Array({ maxLength: 100 }).map((b) => frame(Buffer.from(b))),
);
const anyFrame = fc.oneof(
  { weight: 6, arbitrary: request.map((r) => frame(JSON.stringify(r))) },
  { weight: 1, arbitrary: badJson },
  { weight: 1, arbitrary: badFraming },
);
/** One connection's worth: authenticated or not, then frames (random, split at random points when sent). */
const script = fc.record({
  phase: fc.constantFrom('pre-auth', 'initialized', 'attached', 'attached'),
  frames: fc.array(anyFrame, { minLength: 15, maxLength: 45 }),
  split: fc.boolean(),
});

// ---- driving one agent -------------------------------------------------------------------------------------
class Peer {
  readonly socket: Socket;
  readonly messages: DapMessage[] = [];
  readonly closed: Promise<void>;
  #decoder = new FrameDecoder(1 << 26);
  #waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.messages.push(...this.#decoder.push(chunk));
      } catch {
        // the agent's own frames are always well-formed; a decoding error here would show in the assertions
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
  }

  static open(port: number, localAddress: string): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: '127.0.0.1', port, localAddress }, () => resolve(new Peer(socket)));
      socket.once('error', reject);
    });
  }

  async request(seq: number, command: string, args: object): Promise<DapMessage> {
    this.socket.write(encodeFrame({ seq, type: 'request', command, arguments: args }));
    const deadline = Date.now() + CLOSE_WAIT_MS;
    for (;;) {
      const found = this.messages.find((m) => m.type === 'response' && m.request_seq === seq);
      if (found) return found;
      if (this.socket.destroyed || Date.now() > deadline) throw new Error(`no answer to ${command}; got ${JSON.stringify(this.messages).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

async function authenticated(port: number, attach: boolean): Promise<Peer> {
  for (let tries = 0; ; tries++) {
    const peer = await Peer.open(port, '127.0.0.1');
    let hello: DapMessage;
    try {
      hello = await peer.request(1, 'initialize', { adapterID: 'fuzz', longreachProtocol: 1 });
    } catch (err) {
      // refused at the gate: many fuzzed connections may still be waiting to authenticate (random early drop)
      peer.socket.destroy();
      if (tries > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    const nonce = Buffer.from((hello.body as any).longreach.nonce, 'base64');
    const cn = Buffer.alloc(32, tries % 256);
    const auth = await peer.request(2, 'authenticate', { clientNonce: cn.toString('base64'), proof: computeProof(SECRET, 'client', nonce, cn) });
    assert.equal(auth.success, true, JSON.stringify(auth));
    if (!attach) return peer;
    const attached = await peer.request(3, 'attach', {});
    if (attached.success) return peer;
    peer.socket.destroy();
    // the last fuzzed session may still be detaching
    if (tries > 100) throw new Error(`attach failed: ${JSON.stringify(attached)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Agent {
  lang: 'python' | 'node';
  file: string;
  start(port: number): ReturnType<typeof spawn>;
}

const AGENTS: Agent[] = [
  {
    lang: 'python',
    file: join(ROOT, 'test/fixtures/python/fuzz_target.py'),
    start: (port) => spawn(process.env.LONGREACH_TEST_PYTHON ?? 'python3', ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_FUZZ', join(ROOT, 'test/fixtures/python/fuzz_target.py')], {
      env: { ...process.env, PYTHONPATH: join(ROOT, 'python'), LR_FUZZ: SECRET, PYTHONUNBUFFERED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  },
  {
    lang: 'node',
    file: join(ROOT, 'test/fixtures/node/fuzz-target.mjs'),
    start: (port) => spawn(process.execPath, ['--import', join(ROOT, 'dist/src/agent-node/register.js'), join(ROOT, 'test/fixtures/node/fuzz-target.mjs')], {
      env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  },
];

function assertTicks(stdout: string): void {
  const lines = stdout.split('\n').filter((l) => l !== '');
  lines.forEach((line, i) => assert.equal(line, `tick ${i}`, `the program's output changed at line ${i + 1}: ${JSON.stringify(line)}`));
}

async function fuzz(t: TestContext, agent: Agent): Promise<void> {
  const port = await freePort();
  const child = agent.start(port);
  const tracked = trackChild(t, child);
  await waitForPort(port, child);
  const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  let frames = 0;
  let run = 0;
  const property = fc.asyncProperty(script, async ({ phase, frames: list, split }) => {
    run++;
    // unauthenticated peers come from many addresses, so their failed handshakes throttle none of the others
    const peer = phase === 'pre-auth' ? await Peer.open(port, `127.0.${1 + (run % 200)}.${1 + (run % 7)}`) : await authenticated(port, phase === 'attached');
    for (const bytes of list) {
      frames++;
      if (peer.socket.destroyed) break;
      if (split && bytes.length > 1) {
        const at = 1 + (bytes.length >> 1);
        peer.socket.write(bytes.subarray(0, at));
        peer.socket.write(bytes.subarray(at));
      } else {
        peer.socket.write(bytes);
      }
    }
    peer.socket.end(); // EOF: whatever state it is in, the agent must let go of the connection promptly
    const closed = await Promise.race([peer.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), CLOSE_WAIT_MS))]);
    peer.socket.destroy();
    assert.ok(closed, `the agent held the connection open ${CLOSE_WAIT_MS / 1000} s after the peer's EOF (hang?)`);
    assert.equal(child.exitCode, null, `the program ended (exit ${child.exitCode}, signal ${child.signalCode}); stderr: ${tracked.stderr().slice(-2000)}`);
  });
  try {
    await fc.assert(property, { seed, numRuns: RUNS, endOnFailure: true });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    const why = cause instanceof Error ? cause.message : String(cause ?? (err as Error).message);
    console.error(`wire fuzzer (${agent.lang} agent) failed with seed ${seed}: replay with FUZZ_SEED=${seed}`);
    // the counterexample can be megabytes of bytes: say what went wrong, not all of it
    throw new Error(`${why.slice(0, 2000)} (seed ${seed}, run ${run})`);
  }
  assert.ok(frames >= MIN_FRAMES || process.env.FUZZ_RUNS !== undefined, `only ${frames} frames were sent`);
  t.diagnostic(`${agent.lang} agent: ${frames} frames over ${run} connections, seed ${seed}`);

  // afterwards: a normal attach stops at a breakpoint, evaluates and lets go
  const session = await connectRetrying(port);
  const line = readFileSync(agent.file, 'utf8').split('\n').findIndex((l) => l.includes('@work')) + 1;
  const stopped = session.waitForEvent('stopped', { timeoutMs: 15_000 });
  const initialized = session.waitForEvent('initialized', { timeoutMs: 10_000 });
  await session.request('attach', {});
  await initialized;
  await session.request('setBreakpoints', { source: { path: agent.file }, breakpoints: [{ line }] });
  await session.request('configurationDone');
  const stop = await stopped;
  const { stackFrames } = await session.request('stackTrace', { threadId: stop.threadId, levels: 1 });
  assert.match((await session.request('evaluate', { expression: 'n * 3', frameId: stackFrames[0].id, context: 'repl' })).result, /^\d+$/);
  await session.disconnect();
  assert.equal(child.exitCode, null);
  assertTicks(tracked.stdout());
  assert.equal(tracked.stderr(), '', 'the agent wrote to the program\'s stderr');
}

async function connectRetrying(port: number) {
  for (let tries = 0; ; tries++) {
    try {
      return await connect(`tcp://127.0.0.1:${port}`, { secret: SECRET, timeoutMs: 10_000 });
    } catch (err) {
      if (tries > 50) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

for (const agent of AGENTS) {
  test(`wire fuzzer: ${agent.lang} agent survives random frames before and after authentication`, { timeout: 180_000 }, (t) => fuzz(t, agent));
}

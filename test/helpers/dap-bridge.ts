// Drives the built `longreach dap` with the real DAP test client (@vscode/debugadapter-testsupport), as an
// editor would: stdio by default, or a TCP connection to `longreach dap --port 0`.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { TestContext } from 'node:test';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { BIN as CLI } from './cli.js';
import { tempDir } from './tls-fixtures.js';

export class BridgeClient extends DebugClient {
  /** Reverse requests (startDebugging) the adapter sent, not yet taken by nextReverseRequest(). */
  readonly #reverse: DebugProtocol.Request[] = [];
  #wakeReverse: (() => void) | null = null;

  constructor() {
    super(process.execPath, CLI, 'longreach');
    this.defaultTimeout = 10_000;
    // The test client takes every message without `event` for a response; a reverse request is kept here instead.
    const self = this as unknown as { dispatch(body: string): void };
    const dispatch = self.dispatch.bind(this);
    self.dispatch = (body: string) => {
      const message = JSON.parse(body) as DebugProtocol.ProtocolMessage;
      if (message.type !== 'request') return dispatch(body);
      this.#reverse.push(message as DebugProtocol.Request);
      this.#wakeReverse?.();
    };
  }

  /** The next reverse request the adapter sent (waits up to `timeoutMs`). */
  async nextReverseRequest(timeoutMs = this.defaultTimeout): Promise<DebugProtocol.Request> {
    const deadline = Date.now() + timeoutMs;
    while (this.#reverse.length === 0) {
      const left = deadline - Date.now();
      assert.ok(left > 0, `no reverse request from the adapter within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wakeReverse = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeReverse = null;
    }
    return this.#reverse.shift()!;
  }

  /** Reverse requests received and not taken yet. */
  get pendingReverseRequests(): number {
    return this.#reverse.length;
  }

  /** Answers a reverse request as an editor does. */
  respondTo(request: DebugProtocol.Request, success = true, message?: string): void {
    const response = { seq: 0, type: 'response', request_seq: request.seq, command: request.command, success, ...(message !== undefined ? { message } : {}) };
    const json = JSON.stringify(response);
    (this as unknown as { outputStream: Writable }).outputStream.write(`Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`, 'utf8');
  }

  /** Speaks DAP over the given streams (an adapter we started ourselves). */
  attachStreams(readable: Readable, writable: Writable): void {
    this.connect(readable, writable);
  }

  /** Sends a request and resolves with the whole response, success or not. */
  raw(command: string, args?: object): Promise<DebugProtocol.Response> {
    return new Promise((resolve) => (this as unknown as { doSend(c: string, a: unknown, cb: (r: DebugProtocol.Response) => void): void }).doSend(command, args, resolve));
  }
}

export interface RunningBridge {
  client: BridgeClient;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | string>;
}

/** `node bin.js dap ...` with a private known_hosts; killed after the test. */
function spawnBridge(t: TestContext, args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string; exited: Promise<number | string> } {
  const knownHosts = join(tempDir(t, 'longreach-bridge-'), 'known_hosts');
  const child = spawn(process.execPath, [CLI, 'dap', ...args], {
    env: { ...process.env, LONGREACH_KNOWN_HOSTS: knownHosts, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stderr: () => err, exited };
}

/** An adapter on stdio, like an editor's "executable" adapter. */
export function startStdioBridge(t: TestContext, env: NodeJS.ProcessEnv = {}): RunningBridge {
  const proc = spawnBridge(t, [], env);
  const client = new BridgeClient();
  client.attachStreams(proc.child.stdout!, proc.child.stdin!);
  return { client, ...proc };
}

/** `longreach dap --port 0`; resolves with the port it printed. */
export async function startPortBridge(t: TestContext, env: NodeJS.ProcessEnv = {}): Promise<{ port: number; stderr: () => string; child: ChildProcess }> {
  const proc = spawnBridge(t, ['--port', '0'], env);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const match = /listening on 127\.0\.0\.1:(\d+)/.exec(proc.stderr());
    if (match) return { port: Number(match[1]), stderr: proc.stderr, child: proc.child };
    assert.ok(Date.now() < deadline, `longreach dap --port 0 printed no port: ${proc.stderr()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The error response's readable message and code, asserting it failed. */
export function errorOf(response: DebugProtocol.Response, { fromAgent = false } = {}): { message: string; code: string; details: Record<string, unknown> } {
  assert.equal(response.success, false, `expected an error response, got ${JSON.stringify(response)}`);
  const error = (response.body as { error?: { format?: string; code?: string; details?: Record<string, unknown> } } | undefined)?.error;
  assert.ok(error, `error response without body.error: ${JSON.stringify(response)}`);
  // The bridge puts the sentence in `message` too (every editor shows it); an agent puts the code there (protocol.md 9).
  assert.equal(response.message, fromAgent ? error.code : error.format);
  return { message: error.format ?? '', code: error.code ?? '', details: error.details ?? {} };
}

/** A test client connected to `longreach dap --port`; after the test its socket is closed (no disconnect to wait for). */
export async function connectPortClient(t: TestContext, port: number): Promise<BridgeClient> {
  const client = new BridgeClient();
  await client.start(port);
  const socket = (client as unknown as { _socket: import('node:net').Socket })._socket;
  socket.on('error', () => undefined);
  t.after(() => socket.destroy());
  return client;
}

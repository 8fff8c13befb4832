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
  constructor() {
    super(process.execPath, CLI, 'longreach');
    this.defaultTimeout = 10_000;
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

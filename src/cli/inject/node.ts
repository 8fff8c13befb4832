// Loading the Node.js agent into a running `node` process: SIGUSR1 opens its inspector, we connect to it on loopback
// at once, load our agent with Runtime.evaluate (the parameters, secret included, come from a 0600 file the
// evaluated code reads and deletes), read back the bound address, and close the inspector again so no
// unauthenticated port stays open.

import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LongreachError } from '../../protocol/errors.js';
import { InspectorSocket } from './websocket.js';
import { checkOwner, describe, listeners, nodeFlags, type Listener, type Target } from './target.js';

const SIGUSR1_BIT = 1n << 9n;
/** The agent's entry point, next to this file in the built package. */
const AGENT_URL = new URL('../../agent-node/index.js', import.meta.url).href;

export interface AgentOptions {
  secret: string | null;
  host: string;
  port: number;
  certfile?: string;
  keyfile?: string;
  allowPlainSecret: boolean;
}

export interface Injected {
  host: string;
  port: number;
  inspectorPort: number;
}

export async function injectNode(target: Target, options: AgentOptions, timeoutMs: number): Promise<Injected> {
  const deadline = Date.now() + timeoutMs;
  checkOwner(target);
  const flags = nodeFlags(target.pid);
  if (typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule !== 'function') {
    throw new LongreachError('LR_INJECT_UNSUPPORTED', `loading into a running Node.js needs Node 20.16 or newer (process.getBuiltinModule); this is ${process.version}`);
  }
  if (/--disable-sigusr1\b/.test(flags) || (target.caught & SIGUSR1_BIT) === 0n) {
    throw new LongreachError('LR_INJECT_UNSUPPORTED', `${describe(target)} does not handle SIGUSR1 (started with --disable-sigusr1, or a Node built without the inspector), and the signal would end it; nothing was sent. Start it under the agent instead: node --import longreach/register app.js (see docs/cli.md)`);
  }
  if (/--inspect(-brk)?(=|\s|$)/.test(flags)) {
    throw new LongreachError('LR_INJECT_UNSUPPORTED', `${describe(target)} was started with --inspect: its inspector is already open to anyone on that port, and closing it would change the program; restart it without --inspect, or use that inspector`);
  }
  if (await mainThreadBusy(target.pid)) {
    throw new LongreachError('LR_INJECT_FAILED', `${describe(target)} is busy running code on its main thread (it has been running, not waiting for events, for 200 ms), so it could not run the loader and its inspector would stay open meanwhile; nothing was sent. Try again when it is idle`);
  }
  const before = new Set(listeners(target.pid).map(key));
  process.kill(target.pid, 'SIGUSR1');
  const inspector = await waitFor(deadline, () => listeners(target.pid).find((l) => !before.has(key(l))), `${describe(target)} did not open its inspector after SIGUSR1 (does the program handle SIGUSR1 itself?); nothing else was done`);
  const workdir = mkdtempSync(join(tmpdir(), 'longreach-inject-'));
  let socket: InspectorSocket | undefined;
  let answered = false;
  try {
    const params = join(workdir, 'params.json');
    writeFileSync(params, JSON.stringify(options), { mode: 0o600, flag: 'wx' });
    if (process.geteuid?.() === 0 && target.uid !== 0) {
      chownSync(workdir, target.uid, -1);
      chownSync(params, target.uid, -1);
      chmodSync(workdir, 0o700);
    }
    const url = await debuggerUrl(inspector.port, deadline);
    socket = await InspectorSocket.open(url, Math.max(1, deadline - Date.now()));
    const evaluation = socket.send('Runtime.evaluate', { expression: loader(params), awaitPromise: true, returnByValue: true, includeCommandLineAPI: true });
    const reply = await Promise.race([evaluation, sleep(Math.max(1, deadline - Date.now())).then(() => null)]);
    if (reply === null) throw new LongreachError('LR_TIMEOUT', `${describe(target)} did not run the loader within ${timeoutMs / 1000} s (its main thread is busy in synchronous code). Nothing was loaded: when the main thread is free the queued loader finds its parameters gone, does nothing and closes the inspector (loopback port ${inspector.port}), which stays open until then`);
    answered = true;
    const value = (reply.result as { value?: { ok: boolean; host?: string; port?: number; code?: string; message?: string } } | undefined)?.value;
    if (!value) throw new LongreachError('LR_INJECT_FAILED', `the loader returned nothing: ${JSON.stringify(reply.exceptionDetails ?? reply).slice(0, 300)}`);
    if (!value.ok) throw new LongreachError((value.code as 'LR_INJECT_FAILED') ?? 'LR_INJECT_FAILED', value.message ?? 'the agent did not start');
    return { host: value.host!, port: value.port!, inspectorPort: inspector.port };
  } finally {
    socket?.close();
    rmSync(workdir, { recursive: true, force: true });
    // The loader closes the inspector as soon as our connection is gone; make sure the port is shut.
    if (answered) {
      await waitFor(Date.now() + 5000, () => (listeners(target.pid).some((l) => key(l) === key(inspector)) ? undefined : true), '').catch(() => {
        throw new LongreachError('LR_INJECT_FAILED', `${describe(target)} still has its inspector open on ${inspector.host}:${inspector.port} (loopback only) 5 s after loading; restart the process to close it`);
      });
    }
  }
}

/** The code run in the target: start the agent from the parameter file, report, then close the inspector. */
function loader(params: string): string {
  return `(async () => {
  const inspector = process.getBuiltinModule('node:inspector');
  try {
    const fs = process.getBuiltinModule('node:fs');
    let o;
    try { o = JSON.parse(fs.readFileSync(${JSON.stringify(params)}, 'utf8')); } catch { return { ok: false, code: 'LR_INJECT_FAILED', message: 'the parameters were withdrawn; nothing was loaded' }; } finally { try { fs.unlinkSync(${JSON.stringify(params)}); } catch {} }
    const existing = globalThis[Symbol.for('longreach.agent')];
    if (existing && existing.address) return { ok: false, code: 'LR_ALREADY_ENABLED', message: 'already has a Longreach agent listening on ' + existing.address.host + ':' + existing.address.port + '; attach to it, nothing was changed' };
    const vm = process.getBuiltinModule('node:vm');
    const warn = process.emitWarning;
    process.emitWarning = () => {};  // the loader's own experimental-API warning is not the program's output
    let loading;
    try { loading = new vm.Script('import(' + JSON.stringify(${JSON.stringify(AGENT_URL)}) + ')', { importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER }).runInThisContext(); } finally { process.emitWarning = warn; }
    const agent = await loading;
    const opts = { secret: o.secret, host: o.host, port: o.port, allowPlainSecret: o.allowPlainSecret };
    if (o.certfile) { opts.certfile = o.certfile; opts.keyfile = o.keyfile; }
    o = null;
    const bound = agent.enableAttach(opts);
    return { ok: true, host: bound.host, port: bound.port };
  } catch (e) {
    return { ok: false, code: e && e.code, message: String(e && e.message || e) };
  } finally {
    setTimeout(() => { try { inspector.close(); } catch {} }, 20);
  }
})()`;
}

/** True when the main thread was running (state R) in every sample over 200 ms: busy in synchronous code. */
async function mainThreadBusy(pid: number): Promise<boolean> {
  for (let i = 0; i < 10; i++) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    } catch {
      return false;
    }
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'R') return false;
    await sleep(20);
  }
  return true;
}

function key(l: Listener): string {
  return `${l.host}:${l.port}`;
}

async function waitFor<T>(deadline: number, probe: () => T | undefined, message: string): Promise<T> {
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new LongreachError('LR_TIMEOUT', message);
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function debuggerUrl(port: number, deadline: number): Promise<string> {
  const body = await new Promise<string>((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/json/list', timeout: Math.max(1, deadline - Date.now()) }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c.length + text.length > 1 << 20 ? '' : c));
      res.on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new LongreachError('LR_TIMEOUT', 'the inspector did not answer /json/list in time')));
    req.on('error', reject);
  });
  const list = JSON.parse(body) as { webSocketDebuggerUrl?: string }[];
  const url = list[0]?.webSocketDebuggerUrl;
  if (!url) throw new LongreachError('LR_INJECT_FAILED', 'the inspector listed no target to connect to');
  return url;
}

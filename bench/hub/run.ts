// npm run bench:hub — attach latency through a reverse-connect hub (`longreach listen`) against a direct attach.
// For the Python and the Node.js agent it starts, in one run:
//   direct       the agent listening (--listen / LONGREACH_LISTEN), the client connecting to it
//   hub tcp      the agent dialing a hub over TCP, the client attaching through the hub with ?pid=
//   hub tls      the same with the hub serving TLS (agent and client pin its fingerprint)
// and times, REPS times each (interleaved), one attach: connect, initialize, authenticate, (selectProcess: the hub
// asks the agent for a session connection, which dials, handshakes and is initialized), attach, until the
// `initialized` event; then disconnect. Prints the median and the 90th percentile in ms side by side.

import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect } from '../../src/client/index.js';
import { startHub, type Hub } from '../../src/hub/hub.js';
import { createSelfSignedCertificate } from '../../src/protocol/certs.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REPS = Number(process.env.BENCH_REPS ?? 30);
const SECRET = 'bench-secret';
const PYTHON = process.env.LONGREACH_PYTHON ?? 'python3';
const REGISTER = `${ROOT}dist/src/agent-node/register.js`;
const PY_LOOP = 'import time\nwhile True: time.sleep(0.05)';
const NODE_LOOP = 'setInterval(() => {}, 50)';

type Lang = 'python' | 'node';
type Mode = 'direct' | 'hub tcp' | 'hub tls';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function startAgent(lang: Lang, how: { listen: number } | { hub: number; fingerprint?: string }): ChildProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, LR_BENCH_SECRET: SECRET, PYTHONPATH: `${ROOT}python` };
  if (lang === 'python') {
    const where = 'listen' in how
      ? ['--listen', `127.0.0.1:${how.listen}`]
      : ['--connect', `127.0.0.1:${how.hub}`, ...(how.fingerprint ? ['--fingerprint', how.fingerprint] : [])];
    return spawn(PYTHON, ['-m', 'longreach', ...where, '--secret-env', 'LR_BENCH_SECRET', '-c', PY_LOOP], { env, stdio: 'ignore' });
  }
  if ('listen' in how) env.LONGREACH_LISTEN = `127.0.0.1:${how.listen}`;
  else {
    env.LONGREACH_CONNECT = `127.0.0.1:${how.hub}`;
    if (how.fingerprint) env.LONGREACH_FINGERPRINT = how.fingerprint;
  }
  env.LONGREACH_SECRET = SECRET;
  return spawn(process.execPath, ['--import', REGISTER, '-e', NODE_LOOP], { env, stdio: 'ignore' });
}

async function attachOnce(target: string): Promise<number> {
  const started = process.hrtime.bigint();
  const session = await connect(target, { timeoutMs: 10_000 });
  const initialized = session.waitForEvent('initialized');
  await session.request('attach', { redirectOutput: false });
  await initialized;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await session.disconnect();
  return ms;
}

async function until(what: string, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `${at(0.5).toFixed(1)} / ${at(0.9).toFixed(1)}`;
}

async function main(): Promise<void> {
  const cert = await createSelfSignedCertificate({ hosts: ['127.0.0.1'] });
  const hubs: Record<'tcp' | 'tls', Hub> = {
    tcp: await startHub({ secret: SECRET, host: '127.0.0.1', port: 0 }),
    tls: await startHub({ secret: SECRET, host: '127.0.0.1', port: 0, tls: { cert: cert.certPem, key: cert.keyPem } }),
  };
  const children: ChildProcess[] = [];
  const targets = new Map<string, string>();
  try {
    for (const lang of ['python', 'node'] as Lang[]) {
      const port = await freePort();
      const direct = startAgent(lang, { listen: port });
      const viaTcp = startAgent(lang, { hub: hubs.tcp.port });
      const viaTls = startAgent(lang, { hub: hubs.tls.port, fingerprint: cert.fingerprint });
      children.push(direct, viaTcp, viaTls);
      targets.set(`${lang}|direct`, `tcp://${SECRET}@127.0.0.1:${port}`);
      targets.set(`${lang}|hub tcp`, `tcp://${SECRET}@127.0.0.1:${hubs.tcp.port}?pid=${viaTcp.pid}`);
      targets.set(`${lang}|hub tls`, `tcps://${SECRET}@127.0.0.1:${hubs.tls.port}?pid=${viaTls.pid}&fingerprint=${cert.fingerprint}`);
      await until(`${lang} agent listening`, () => connect(targets.get(`${lang}|direct`)!, { timeoutMs: 1000 }).then((s) => (s.close(), true), () => false));
    }
    await until('agents dialed the hubs', () => hubs.tcp.agents() === 2 && hubs.tls.agents() === 2);
    const modes: Mode[] = ['direct', 'hub tcp', 'hub tls'];
    const results = new Map<string, number[]>();
    for (const key of targets.keys()) await attachOnce(targets.get(key)!); // warm-up
    for (let rep = 0; rep < REPS; rep++) {
      for (const [key, target] of targets) results.set(key, [...(results.get(key) ?? []), await attachOnce(target)]);
    }
    process.stdout.write(`attach latency, ms (connect + handshake + attach + initialized), ${REPS} attaches each, loopback\n`);
    process.stdout.write(`${'agent'.padEnd(8)}${modes.map((m) => `${m} median / p90`.padStart(26)).join('')}\n`);
    for (const lang of ['python', 'node'] as Lang[]) {
      process.stdout.write(`${lang.padEnd(8)}${modes.map((m) => stats(results.get(`${lang}|${m}`)!).padStart(26)).join('')}\n`);
    }
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await hubs.tcp.close();
    await hubs.tls.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:hub failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});

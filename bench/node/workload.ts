// One benchmark run in its own process: `node workload.js <sync|async> <plain|agent> <port> <iterations>`.
// With `agent` it starts the Node.js agent and waits for the benchmark driver to attach and configure.

import { enableAttach, waitForAttach } from '../../src/agent-node/index.js';

const [kind = 'sync', mode = 'plain', portText = '0', iterText = '100000'] = process.argv.slice(2);
const iterations = Number(iterText);

/** The hot function: one call per iteration, with some work inside so a call is not only call overhead. */
function hot(x: number): number {
  let y = x; // @hot
  for (let k = 0; k < 200; k++) y = ((y * 31) ^ (y >>> 3)) & 0xfffff;
  return y & 0xffff;
}

function neverCalled(): number {
  return 42; // @never
}

async function hotAsync(x: number): Promise<number> {
  let y = x; // @hot-async
  for (let k = 0; k < 20; k++) y = ((y * 31) ^ (y >>> 3)) & 0xfffff;
  return y & 0xffff;
}

function runSync(): number {
  let acc = 0;
  for (let i = 0; i < iterations; i++) acc = (acc + hot(i)) | 0;
  return acc;
}

async function runAsync(): Promise<number> {
  let acc = 0;
  for (let i = 0; i < iterations; i++) acc = (acc + (await hotAsync(i))) | 0;
  return acc;
}

async function main(): Promise<void> {
  if (mode === 'agent') {
    enableAttach({ secret: 'bench', host: '127.0.0.1', port: Number(portText) });
    if (!waitForAttach({ timeout: 30 })) throw new Error('no debugger attached');
  }
  // Every configuration starts timing from the same quiet state (startup compilation finished).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const t0 = process.hrtime.bigint();
  const acc = kind === 'async' ? await runAsync() : runSync();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(`${JSON.stringify({ ms, acc, unused: acc === 0x7fffffff ? neverCalled() : 0 /* never true here: a breakpoint in neverCalled must not stop */ })}\n`);
}

void main();

// node --expose-gc --max-semi-space-size=1 dist/bench/soak/sessions.js MODE [N] — what one way of using the main
// thread's inspector from a worker thread (as the Node.js agent does) costs in resident memory per cycle, after a
// warm-up of 300 cycles, with both isolates collected before each reading (docs/performance.md, "Attaching again and
// again"). MODE:
//   connect  a new inspector Session connected to the main thread, one Runtime.evaluate, disconnected (the agent
//            before: one session per attach)
//   toggle   one kept Session: Debugger.enable, Debugger.disable
//   session  one kept Session: what a debugging session does to it (Debugger.enable, blackbox patterns, a URL
//            breakpoint, pause on exceptions, an evaluation in an object group released again, Debugger.disable)
//   evaluate one kept Session: one Runtime.evaluate (a primitive result), nothing else

import { readFileSync, writeSync } from 'node:fs';
import { Session } from 'node:inspector';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const rssKb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

if (isMainThread) {
  const mode = process.argv[2] ?? 'connect';
  const n = Number(process.argv[3] ?? 3000);
  if (!['connect', 'toggle', 'session', 'evaluate'].includes(mode) || !(n > 0)) {
    process.stderr.write('usage: node --expose-gc dist/bench/soak/sessions.js connect|toggle|session|evaluate [cycles]\n');
    process.exit(2);
  }
  const worker = new Worker(new URL(import.meta.url), { workerData: { mode, n } });
  setInterval(() => Math.sqrt(n), 2).unref(); // the main thread stays busy, as a program would
  worker.on('message', () => {
    gc();
    worker.postMessage('collected');
  });
  worker.on('exit', () => process.exit(0));
} else {
  const { mode, n } = workerData as { mode: string; n: number };
  const alive = setInterval(() => undefined, 1000);
  const post = (s: Session, method: string, params: object = {}): Promise<unknown> =>
    new Promise((resolve, reject) => (s.post as (m: string, p: object, cb: (e: Error | null, r?: unknown) => void) => void)(method, params, (e, r) => (e ? reject(e) : resolve(r))));
  let kept: Session | null = null;
  const cycle = async (): Promise<void> => {
    if (mode === 'connect') {
      const s = new Session();
      s.connectToMainThread();
      await post(s, 'Runtime.evaluate', { expression: '1' });
      s.disconnect();
      return;
    }
    if (!kept) {
      kept = new Session();
      kept.connectToMainThread();
    }
    if (mode === 'evaluate') {
      await post(kept, 'Runtime.evaluate', { expression: '1 + 1' });
      return;
    }
    await post(kept, 'Debugger.enable', { maxScriptsCacheSize: 10_000_000 });
    if (mode === 'session') {
      await post(kept, 'Debugger.setBlackboxPatterns', { patterns: ['^node:'] });
      await post(kept, 'Debugger.setBreakpointByUrl', { lineNumber: 5, url: 'file:///nowhere.js' });
      await post(kept, 'Debugger.setPauseOnExceptions', { state: 'uncaught' });
      await post(kept, 'Runtime.evaluate', { expression: '({ a: [1, 2, 3] })', objectGroup: 'g' });
      await post(kept, 'Runtime.releaseObjectGroup', { objectGroup: 'g' });
    }
    await post(kept, 'Debugger.disable');
  };
  const sample = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => {
        parentPort!.once('message', resolve);
        parentPort!.postMessage('collect');
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return rssKb();
  };
  for (let i = 0; i < 300; i++) await cycle();
  const start = await sample();
  for (let i = 0; i < n; i++) await cycle();
  const end = await sample();
  writeSync(1, `${mode}: ${n} cycles, RSS ${start} -> ${end} kB: ${(((end - start) * 1024) / n).toFixed(0)} B per cycle\n`);
  (kept as Session | null)?.disconnect();
  clearInterval(alive);
  process.exit(0);
}

// The hidden helpers breakpoint conditions call (translate/conditions.ts), in a worker's isolate: hit counters, and
// log points whose text comes back through a CDP binding (Runtime.addBinding), never through the worker's console.
// Installed only while a debugger is attached and some breakpoint there needs them; removed at the detach.

import type { CdpChannel } from '../../inspector/cdp.js';
import { AGENT_GLOBAL } from '../../shared.js';

const BINDING = '__longreachLog';

const INSTALL = `(() => {
  const send = globalThis[${JSON.stringify(BINDING)}];
  delete globalThis[${JSON.stringify(BINDING)}];
  const hits = new Map();
  const helpers = {
    hit(key) { const n = (hits.get(key) || 0) + 1; hits.set(key, n); return n; },
    log(text) { if (typeof send === 'function') send(String(text)); },
  };
  Object.defineProperty(globalThis, Symbol.for(${JSON.stringify(AGENT_GLOBAL)}), { value: helpers, enumerable: false, configurable: true });
})()`;

/** Installs the helpers; `log` receives each log point's text. */
export async function installHelpers(cdp: CdpChannel, log: (text: string) => void): Promise<void> {
  cdp.on('Runtime.bindingCalled', (p: { name?: string; payload?: string }) => {
    if (p.name === BINDING && typeof p.payload === 'string') log(p.payload);
  });
  await cdp.post('Runtime.addBinding', { name: BINDING });
  await cdp.post('Runtime.evaluate', { expression: INSTALL, silent: true });
}

export async function removeHelpers(cdp: CdpChannel): Promise<void> {
  await cdp.post('Runtime.removeBinding', { name: BINDING }).catch(() => undefined);
  await cdp.post('Runtime.evaluate', { expression: `delete globalThis[Symbol.for(${JSON.stringify(AGENT_GLOBAL)})]`, silent: true });
}

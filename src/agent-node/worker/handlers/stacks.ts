// longreach/stacks: the main thread's current stack without pausing it (`longreach stacks`). A Runtime.evaluate from
// the agent's session runs in a V8 interrupt wherever the main thread is — inside a busy synchronous loop too — or
// at once when it waits in the event loop, so the call sites captured there are the program's own frames below our
// evaluation (none when it is idle). Error.prepareStackTrace and stackTraceLimit are put back before it returns.

import { fileURLToPath } from 'node:url';
import type { SessionState } from '../state.js';
import { stackTrace } from './inspect.js';

const LEVELS = 200;

const CAPTURE = `(() => {
  const prepare = Error.prepareStackTrace, limit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = ${LEVELS + 5};
    Error.prepareStackTrace = (_, sites) => sites;
    const holder = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack;
    let i = 0;
    while (i < sites.length && !sites[i].getFileName()) i++;
    return sites.slice(i).map((c) => {
      const type = c.getTypeName(), method = c.getMethodName(), fn = c.getFunctionName();
      return [fn || (type && method ? type + '.' + method : '<anonymous>'), c.getFileName() || null, c.getLineNumber() || 0];
    });
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
})()`;

interface Row {
  name: string;
  path: string | null;
  line: number;
}

export async function stacks(state: SessionState): Promise<unknown> {
  if (state.runtime.paused) {
    const trace = stackTrace(state, { levels: LEVELS }) as { stackFrames: { name: string; line: number; source?: { path?: string; name?: string } }[]; totalFrames: number };
    const frames = trace.stackFrames.map((f) => ({ name: f.name, path: f.source?.path ?? f.source?.name ?? null, line: f.line }));
    return { threads: [{ id: 1, name: 'main', frames, totalFrames: trace.totalFrames }] };
  }
  const r = (await state.runtime.cdp.post('Runtime.evaluate', { expression: CAPTURE, returnByValue: true, silent: true, timeout: 2000 })) as { result?: { value?: [string, string | null, number][] } };
  const frames: Row[] = (r.result?.value ?? []).slice(0, LEVELS).map(([name, file, line]) => ({ name, path: file === null ? null : file.startsWith('file:') ? fileURLToPath(file) : file, line }));
  return { threads: [{ id: 1, name: 'main', frames, totalFrames: frames.length }] };
}

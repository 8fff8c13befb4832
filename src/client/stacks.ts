// Every thread's current stack of a running process, leaving it running: "where is it stuck?".
// Our agents answer `longreach/stacks` with a snapshot taken without stopping anything (Python: every thread's
// frames; Node.js: the main thread's call sites, captured in a V8 interrupt). Any other DAP server (debugpy) is
// paused for as long as it takes to read the stacks, then continued.

import { LongreachError } from '../protocol/errors.js';
import type { ClientSession } from './connect.js';

export interface StackFrameRow {
  name: string;
  path: string | null;
  line: number;
}

export interface ThreadStacks {
  id: number;
  name: string;
  frames: StackFrameRow[];
  totalFrames: number;
}

export interface StacksResult {
  /** snapshot: read without stopping; paused: stopped briefly and continued (servers without longreach/stacks). */
  how: 'snapshot' | 'paused';
  threads: ThreadStacks[];
}

const LEVELS = 200;

export async function readStacks(session: ClientSession, { timeoutMs = session.timeoutMs }: { timeoutMs?: number } = {}): Promise<StacksResult> {
  const attached = session.request('attach', { name: 'longreach stacks', request: 'attach', justMyCode: false }, { timeoutMs });
  // debugpy-style servers answer attach only after configurationDone
  const initialized = session.waitForEvent('initialized', { timeoutMs }).catch(() => undefined);
  await Promise.race([attached, initialized]);
  await session.request('configurationDone', {}, { timeoutMs }).catch(() => undefined);
  await attached;
  try {
    const body = await session.request<{ threads: ThreadStacks[] }>('longreach/stacks', { levels: LEVELS }, { timeoutMs });
    return { how: 'snapshot', threads: body.threads };
  } catch (err) {
    if (!(err instanceof LongreachError) || (err.code !== 'LR_UNSUPPORTED' && err.code !== 'LR_BAD_REQUEST')) throw err;
  }
  const stopped = session.waitForEvent<{ threadId?: number }>('stopped', { timeoutMs });
  await session.request('pause', { threadId: 1 }, { timeoutMs });
  const stop = await stopped;
  try {
    const { threads } = await session.request<{ threads: { id: number; name: string }[] }>('threads', {}, { timeoutMs });
    const out: ThreadStacks[] = [];
    for (const t of threads) {
      const trace = await session
        .request<{ stackFrames: { name: string; line: number; source?: { path?: string; name?: string } }[]; totalFrames?: number }>('stackTrace', { threadId: t.id, levels: LEVELS }, { timeoutMs })
        .catch(() => ({ stackFrames: [], totalFrames: 0 }));
      out.push({ id: t.id, name: t.name, frames: trace.stackFrames.map((f) => ({ name: f.name, path: f.source?.path ?? f.source?.name ?? null, line: f.line })), totalFrames: trace.totalFrames ?? trace.stackFrames.length });
    }
    return { how: 'paused', threads: out };
  } finally {
    await session.request('continue', { threadId: stop.threadId ?? 1 }, { timeoutMs }).catch(() => undefined);
  }
}

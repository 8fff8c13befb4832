// The "Available Processes" query: every port of a qualifier (ranges allowed), concurrently, each with
// its own result or its own typed reason. Listing never attaches, so it never disturbs a debugger.

import { LongreachError } from '../protocol/errors.js';
import { expandPorts, formatQualifier, parseQualifier, type Qualifier } from '../protocol/qualifier.js';
import type { ProcessInfo } from '../protocol/process-info.js';
import { connect, type ConnectOptions } from './connect.js';

export type ListRow =
  | { target: string; port: number; ok: true; info: ProcessInfo }
  | { target: string; port: number; ok: false; code: string; message: string; details: Record<string, unknown> };

export interface ListOptions extends ConnectOptions {
  /** Ports probed at once (default 32). */
  concurrency?: number;
  /** Called after each port is done (for a progress line). */
  onProgress?: (done: number, total: number) => void;
}

export async function listProcesses(target: string | Qualifier, options: ListOptions = {}): Promise<ListRow[]> {
  const base = typeof target === 'string' ? parseQualifier(target, { allowRange: true }) : target;
  const targets = expandPorts(base);
  const rows: ListRow[] = new Array(targets.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < targets.length) {
      const index = next++;
      rows[index] = await probe(targets[index]!, options);
      options.onProgress?.(++done, targets.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 32, targets.length) }, worker));
  return rows;
}

async function probe(q: Qualifier, options: ConnectOptions): Promise<ListRow> {
  const target = formatQualifier(q);
  try {
    const session = await connect(q, options);
    try {
      if (!session.hello.longreach) {
        throw new LongreachError('LR_NOT_LONGREACH', 'a plain DAP server (not a Longreach agent): it can be attached to but not listed');
      }
      const info = await session.request<ProcessInfo>('longreach/processInfo');
      return { target, port: q.port, ok: true, info };
    } finally {
      session.disconnect().catch(() => undefined);
    }
  } catch (err) {
    const e = err instanceof LongreachError ? err : new LongreachError('LR_INTERNAL', String((err as Error)?.message ?? err));
    return { target, port: q.port, ok: false, code: e.code, message: e.message, details: { ...e.details } };
  }
}

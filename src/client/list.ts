// The "Available Processes" query: every port of a qualifier (ranges allowed), concurrently, each with
// its own result or its own typed reason. Listing never attaches, so it never disturbs a debugger.

import { LongreachError } from '../protocol/errors.js';
import { expandPorts, formatQualifier, parseQualifier, type Qualifier } from '../protocol/qualifier.js';
import type { ProcessInfo } from '../protocol/process-info.js';
import { connect, type ConnectOptions } from './connect.js';

export type ListRow =
  | { target: string; port: number; ok: true; pid: number; ppid: number | null; label: string; notJoined?: string; info: ProcessInfo }
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
  const rows: ListRow[][] = new Array(targets.length);
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
  return rows.flat();
}

/** One row per process: a job's gateway or a hub lists `processes`, each reached with `?pid=` (docs/protocol.md 5.3). */
export function rowsOf(q: Qualifier, info: ProcessInfo): ListRow[] {
  const row = (p: ProcessInfo, target: string): ListRow => ({
    target, port: q.port, ok: true, pid: p.pid, ppid: typeof p.ppid === 'number' ? p.ppid : null, label: typeof p.label === 'string' ? p.label : '',
    ...(typeof p.notJoined === 'string' ? { notJoined: p.notJoined } : {}), info: p,
  });
  if (!Array.isArray(info.processes)) return [row(info, formatQualifier(q))];
  const valid = info.processes.filter((p) => p !== null && typeof p === 'object' && Number.isInteger(p.pid));
  if (valid.length === 0) {
    const what = info.agent === 'longreach-hub' ? 'this hub has no agent connected yet (start one with --connect)' : 'this address reaches no process right now';
    return [{ target: formatQualifier(q), port: q.port, ok: false, code: 'LR_NO_SUCH_PROCESS', message: what, details: {} }];
  }
  return treeOrder(valid).map((p) => row(p, formatQualifier({ ...q, pid: p.pid })));
}

/** Parents before their children, depth first, in pid order; processes whose parent is not listed are roots. */
export function treeOrder(processes: ProcessInfo[]): ProcessInfo[] {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const children = new Map<number | null, ProcessInfo[]>();
  for (const p of processes) {
    const parent = typeof p.ppid === 'number' && byPid.has(p.ppid) && p.ppid !== p.pid ? p.ppid : null;
    children.set(parent, [...(children.get(parent) ?? []), p]);
  }
  const out: ProcessInfo[] = [];
  // by entry, not by pid: a hub may reach two machines that both have a process 4242
  const seen = new Set<ProcessInfo>();
  const visit = (parent: number | null): void => {
    for (const p of (children.get(parent) ?? []).sort((a, b) => a.pid - b.pid)) {
      if (seen.has(p)) continue;
      seen.add(p);
      out.push(p);
      visit(p.pid);
    }
  };
  visit(null);
  for (const p of processes) if (!seen.has(p)) out.push(p); // a cycle of ppids: list them anyway
  return out;
}

async function probe(q: Qualifier, options: ConnectOptions): Promise<ListRow[]> {
  const target = formatQualifier(q);
  try {
    // `?pid=` narrows the listing to that process; the address itself is what is asked
    const { pid, ...address } = q;
    const session = await connect(address, options);
    try {
      if (!session.hello.longreach) {
        throw new LongreachError('LR_NOT_LONGREACH', 'a plain DAP server (not a Longreach agent): it can be attached to but not listed');
      }
      const info = await session.request<ProcessInfo>('longreach/processInfo');
      const rows = rowsOf(address, info);
      if (pid === undefined) return rows;
      const chosen = rows.filter((r) => r.ok && r.pid === pid);
      if (chosen.length > 0) return chosen;
      const pids = rows.map((r) => (r.ok && r.notJoined === undefined ? r.pid : 0)).filter((p) => p > 0);
      throw new LongreachError('LR_NO_SUCH_PROCESS', `no process ${pid} is reachable through this address; its processes: ${pids.join(', ')}`);
    } finally {
      session.disconnect().catch(() => undefined);
    }
  } catch (err) {
    const e = err instanceof LongreachError ? err : new LongreachError('LR_INTERNAL', String((err as Error)?.message ?? err));
    return [{ target, port: q.port, ok: false, code: e.code, message: e.message, details: { ...e.details } }];
  }
}

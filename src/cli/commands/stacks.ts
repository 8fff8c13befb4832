// longreach stacks QUALIFIER... — every thread's stack of each process, leaving it running.

import { relative, isAbsolute } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, type ClientSession } from '../../client/connect.js';
import { listProcesses, rowsOf, type ListRow } from '../../client/list.js';
import { readStacks, type StacksResult } from '../../client/stacks.js';
import { formatQualifier, maskSecrets, parseQualifier, type Qualifier } from '../../protocol/qualifier.js';
import type { ProcessInfo } from '../../protocol/process-info.js';
import type { TrustDecider, TrustDecision } from '../../protocol/trust.js';
import { LongreachError } from '../../protocol/errors.js';
import { UsageError, type Io } from '../io.js';
import { readSecret } from '../secret.js';
import { CONNECTION_OPTIONS, parseTimeout } from '../connection-options.js';
import { trustDecider } from '../prompt-trust.js';

export const STACKS_USAGE = `usage: longreach stacks [--json] [--timeout SECONDS] [--secret-file FILE | --secret-env VAR]
                        [--ca FILE] [--fingerprint sha256:HEX] QUALIFIER...
  Every thread's current stack of each process, leaving it running: a job's root or a hub without ?pid=
  reads every process it reaches, a port range every process listening there.`;

export async function stacksCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: CONNECTION_OPTIONS });
  if (values.help) {
    io.stdout.write(`${STACKS_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`stacks needs at least one qualifier\n${STACKS_USAGE}`);
  const timeoutMs = parseTimeout(values.timeout, 10);
  const secret = readSecret(values, io.env);
  const decide = onceForAll(trustDecider(io));
  const options = {
    timeoutMs,
    ...(secret !== undefined ? { secret } : {}),
    ...(values.ca !== undefined ? { ca: values.ca } : {}),
    ...(values.fingerprint !== undefined ? { fingerprint: values.fingerprint } : {}),
    ...(decide ? { decide } : {}),
    onWarning: (w: string) => io.stderr.write(`${w}\n`),
  };
  let failed = 0;
  let shownAny = false;
  const fail = (shown: string, err: unknown): void => {
    failed++;
    const e: { code: string; message: string } = err instanceof LongreachError || isRow(err) ? err : new LongreachError('LR_INTERNAL', String(err));
    if (values.json) io.stdout.write(`${JSON.stringify({ target: shown, ok: false, code: e.code, message: e.message })}\n`);
    else io.stderr.write(`${shown}  error [${e.code}]: ${e.message}\n`);
  };
  // A process of the job that has not joined it has no stacks to read (no agent runs there): said, not a failure.
  const notJoined = (shown: string, pid: number, why: string): void => {
    if (values.json) io.stdout.write(`${JSON.stringify({ target: shown, ok: false, notJoined: why })}\n`);
    else io.stdout.write(`${shown}  (not read: process ${pid} belongs to this job but ${why})\n\n`);
  };
  // One process, or (`expand`, no `?pid=`) every process a job's root or a hub reaches there, each with `?pid=`.
  const read = async (q: Qualifier, shownOnError: string, expand: boolean): Promise<void> => {
    let session: ClientSession;
    try {
      session = await connect(q, options);
    } catch (err) {
      fail(shownOnError, err);
      return;
    }
    let result: StacksResult;
    const shown = formatQualifier(session.qualifier);
    try {
      const rows = expand && q.pid === undefined ? await processesBehind(session) : null;
      if (rows !== null) {
        await session.disconnect().catch(() => undefined);
        for (const row of rows) {
          if (row.ok && row.notJoined !== undefined) notJoined(row.target, row.pid, row.notJoined);
          else if (row.ok) await read({ ...q, pid: row.pid }, row.target, false);
          else fail(row.target, row);
        }
        return;
      }
      result = await readStacks(session, { timeoutMs });
    } catch (err) {
      fail(shown, err);
      return;
    } finally {
      await session.disconnect().catch(() => undefined);
    }
    shownAny = true;
    if (values.json) io.stdout.write(`${JSON.stringify({ target: shown, ok: true, how: result.how, threads: result.threads })}\n`);
    else io.stdout.write(render(shown, result));
  };
  for (const p of positionals) {
    const q = parseQualifier(p, { allowRange: true });
    if (q.portEnd === q.port) {
      await read(q, maskSecrets(p), true);
      continue;
    }
    // A port range names every process of a job: the listening ones are found first, like `list` (ports where
    // nothing answers are left out); each row is one process.
    for (const row of await listProcesses(q, options)) {
      if (row.ok && row.notJoined !== undefined) notJoined(row.target, row.pid, row.notJoined);
      else if (row.ok) await read({ ...q, port: row.port, portEnd: row.port, ...(row.target.includes('?pid=') ? { pid: row.pid } : {}) }, row.target, false);
    }
  }
  return failed === 0 && shownAny ? 0 : 1;
}

function isRow(x: unknown): x is ListRow & { ok: false } {
  return typeof x === 'object' && x !== null && (x as ListRow).ok === false;
}

/**
 * The processes a job's root or a hub reaches through this address, as `list` shows them (docs/protocol.md 5.3);
 * null for an address that debugs one process (or a server that does not say).
 */
async function processesBehind(session: ClientSession): Promise<ListRow[] | null> {
  if (!session.hello.longreach) return null;
  let info: ProcessInfo;
  try {
    info = await session.request<ProcessInfo>('longreach/processInfo');
  } catch {
    return null;
  }
  return Array.isArray(info.processes) ? rowsOf(session.qualifier, info) : null;
}

/**
 * A person's "trust once" holds for the whole command: every process of a job behind one address presents the same
 * certificate, and is asked about once.
 */
function onceForAll(decide: TrustDecider | undefined): TrustDecider | undefined {
  if (decide === undefined) return undefined;
  const answers = new Map<string, Promise<TrustDecision>>();
  return (info) => {
    const key = `${info.host} ${info.port} ${info.fingerprint}`;
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = decide(info);
      answers.set(key, answer);
    }
    return answer;
  };
}

function render(target: string, result: StacksResult): string {
  const how = { snapshot: 'read without stopping it', paused: 'paused for the moment it took to read, then continued' }[result.how];
  let out = `${target}  (${how})\n`;
  for (const t of result.threads) {
    out += `\nThread ${t.name} (${t.id})${t.frames.length === 0 ? ': no code running (waiting for events)' : ''}\n`;
    t.frames.forEach((f, i) => {
      out += `  #${i}  ${f.name}() at ${show(f.path)}:${f.line}\n`;
    });
    if (t.totalFrames > t.frames.length) out += `  (${t.totalFrames - t.frames.length} more frames)\n`;
  }
  return `${out}\n`;
}

function show(path: string | null): string {
  if (path === null) return '<unknown>';
  if (!isAbsolute(path)) return path;
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

// longreach list QUALIFIER... — the "Available Processes" table.

import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { listProcesses, type ListRow } from '../../client/list.js';
import type { ProcessInfo } from '../../protocol/process-info.js';
import { parseQualifier } from '../../protocol/qualifier.js';
import { UsageError, type Io } from '../io.js';
import { renderTable } from '../render/table.js';
import { readSecret, secretSource } from '../secret.js';
import { CONNECTION_OPTIONS, parseTimeout } from '../connection-options.js';
import { trustDecider } from '../prompt-trust.js';

export const LIST_USAGE = `usage: longreach list [--json] [--timeout SECONDS] [--secret-file FILE | --secret-env VAR]
                      [--ca FILE] [--fingerprint sha256:HEX] QUALIFIER...
  QUALIFIER  tcp://[SECRET@]HOST[:PORT|:FIRST-LAST] or tcps://...  (default port 5678)`;

export async function listCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: CONNECTION_OPTIONS,
  });
  if (values.help) {
    io.stdout.write(`${LIST_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`list needs at least one qualifier\n${LIST_USAGE}`);
  const timeoutMs = parseTimeout(values.timeout, 5);
  const secret = readSecret(values, io.env);
  const source = secretSource(values);
  const targets = positionals.map((p) => parseQualifier(p, { allowRange: true }));
  const progress = io.stderr.isTTY === true && !values.json;
  const decide = trustDecider(io);
  const rows: ListRow[] = [];
  for (const target of targets) {
    rows.push(
      ...(await listProcesses(target, {
        timeoutMs,
        ...(secret !== undefined ? { secret } : {}),
        ...(source !== undefined ? { secretSource: source } : {}),
        ...(values.ca !== undefined ? { ca: values.ca } : {}),
        ...(values.fingerprint !== undefined ? { fingerprint: values.fingerprint } : {}),
        ...(decide ? { decide } : {}),
        onWarning: (w) => io.stderr.write(`${w}\n`),
        onNotice: (line) => io.stderr.write(`${line}\n`),
        ...(progress ? { onProgress: (done: number, total: number) => io.stderr.write(`\rscanning ${done}/${total}\x1b[K`) } : {}),
      })),
    );
    if (progress) io.stderr.write('\r\x1b[K');
  }
  if (values.json) {
    for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
  } else {
    // the last column is cut to a terminal's width; into a file or a pipe it is written whole
    io.stdout.write(render(rows, io.stdout.isTTY ? ((io.stdout as { columns?: number }).columns ?? 120) : Infinity));
  }
  return rows.some((r) => r.ok) ? 0 : 1;
}

function render(rows: ListRow[], width: number): string {
  const ok = rows.filter((r): r is Extract<ListRow, { ok: true }> => r.ok);
  const failed = rows.filter((r): r is Extract<ListRow, { ok: false }> => !r.ok);
  let out = '';
  if (ok.some((r) => r.label !== '' || r.ppid !== null || r.target.includes('?pid='))) {
    out += renderJob(ok, width);
  } else if (ok.length > 0) {
    out += renderTable(
      ['TARGET', 'PID', 'PROGRAM', 'RUNTIME', 'USER', 'ATTACHED BY', 'COMMAND LINE'],
      ok.map(({ target, info }) => [
        target,
        String(info.pid),
        basename(info.argv[0] ?? info.executable),
        info.runtimeDisplay,
        info.user,
        state(info),
        info.argv.join(' '),
      ]),
      width,
    );
  } else {
    out += 'no processes could be listed\n';
  }
  for (const row of failed) out += `${row.target}  error [${row.code}]: ${row.message}\n`;
  return out;
}

/**
 * A job or a hub: one row per process, children indented under their parent (rows arrive in tree order). A process of
 * the job that has not joined it has no target; why is said under the table.
 */
function renderJob(ok: Extract<ListRow, { ok: true }>[], width: number): string {
  const depth = new Map<number, number>();
  for (const r of ok) depth.set(r.pid, r.ppid !== null && depth.has(r.ppid) ? depth.get(r.ppid)! + 1 : 0);
  const table = renderTable(
    ['PID', 'PARENT', 'LABEL', 'PROGRAM', 'RUNTIME', 'TARGET', 'ATTACHED BY'],
    ok.map((r) => [
      `${'  '.repeat(depth.get(r.pid) ?? 0)}${r.pid}`,
      r.ppid === null ? '-' : String(r.ppid),
      r.label || '-',
      basename(r.info.argv?.[0] ?? r.info.executable ?? ''),
      r.info.runtimeDisplay || '-',
      r.notJoined === undefined ? r.target : '-',
      r.notJoined === undefined ? state(r.info) : 'not joined (see below)',
    ]),
    width,
  );
  const notes = ok.filter((r) => r.notJoined !== undefined).map((r) => `process ${r.pid} belongs to this job but ${r.notJoined}\n`);
  return notes.length > 0 ? `${table}\n${notes.join('')}` : table;
}

function state(info: ProcessInfo): string {
  if (info.attached) return `${info.attached.address} since ${info.attached.since}`;
  if (info.waiting) return `waiting at ${basename(info.waiting.file)}:${info.waiting.line} since ${info.waiting.since}`;
  return '-';
}

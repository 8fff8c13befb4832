// longreach list QUALIFIER... — the "Available Processes" table.

import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { listProcesses, type ListRow } from '../../client/list.js';
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
    io.stdout.write(render(rows, (io.stdout as { columns?: number }).columns ?? 120));
  }
  return rows.some((r) => r.ok) ? 0 : 1;
}

function render(rows: ListRow[], width: number): string {
  const ok = rows.filter((r): r is Extract<ListRow, { ok: true }> => r.ok);
  const failed = rows.filter((r): r is Extract<ListRow, { ok: false }> => !r.ok);
  let out = '';
  if (ok.length > 0) {
    out += renderTable(
      ['TARGET', 'PID', 'PROGRAM', 'RUNTIME', 'USER', 'ATTACHED BY', 'COMMAND LINE'],
      ok.map(({ target, info }) => [
        target,
        String(info.pid),
        basename(info.argv[0] ?? info.executable),
        info.runtimeDisplay,
        info.user,
        info.attached ? `${info.attached.address} since ${info.attached.since}` : '-',
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

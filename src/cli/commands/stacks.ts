// longreach stacks QUALIFIER... — every thread's stack of each process, leaving it running.

import { relative, isAbsolute } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '../../client/connect.js';
import { listProcesses } from '../../client/list.js';
import { readStacks, type StacksResult } from '../../client/stacks.js';
import { formatQualifier, parseQualifier } from '../../protocol/qualifier.js';
import { LongreachError } from '../../protocol/errors.js';
import { UsageError, type Io } from '../io.js';
import { readSecret } from '../secret.js';
import { CONNECTION_OPTIONS, parseTimeout } from '../connection-options.js';
import { trustDecider } from '../prompt-trust.js';

export const STACKS_USAGE = `usage: longreach stacks [--json] [--timeout SECONDS] [--secret-file FILE | --secret-env VAR]
                        [--ca FILE] [--fingerprint sha256:HEX] QUALIFIER...
  Every thread's current stack of each process (port ranges allowed: every process of a job), leaving it running.`;

export async function stacksCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: CONNECTION_OPTIONS });
  if (values.help) {
    io.stdout.write(`${STACKS_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError(`stacks needs at least one qualifier\n${STACKS_USAGE}`);
  const timeoutMs = parseTimeout(values.timeout, 10);
  const secret = readSecret(values, io.env);
  const decide = trustDecider(io);
  const options = {
    timeoutMs,
    ...(secret !== undefined ? { secret } : {}),
    ...(values.ca !== undefined ? { ca: values.ca } : {}),
    ...(values.fingerprint !== undefined ? { fingerprint: values.fingerprint } : {}),
    ...(decide ? { decide } : {}),
    onWarning: (w: string) => io.stderr.write(`${w}\n`),
  };
  // A port range names every process of a job: the listening ones are found first, like `list`.
  const targets: string[] = [];
  for (const p of positionals) {
    const q = parseQualifier(p, { allowRange: true });
    if (q.portEnd === q.port) targets.push(p);
    else for (const row of await listProcesses(q, options)) if (row.ok) targets.push(row.target);
  }
  let failed = 0;
  for (const target of targets) {
    let result: StacksResult;
    let shown = target;
    try {
      const session = await connect(target, options);
      shown = formatQualifier(session.qualifier);
      try {
        result = await readStacks(session, { timeoutMs });
      } finally {
        await session.disconnect().catch(() => undefined);
      }
    } catch (err) {
      failed++;
      const e = err instanceof LongreachError ? err : new LongreachError('LR_INTERNAL', String(err));
      if (values.json) io.stdout.write(`${JSON.stringify({ target: shown, ok: false, code: e.code, message: e.message })}\n`);
      else io.stderr.write(`${shown}  error [${e.code}]: ${e.message}\n`);
      continue;
    }
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ target: shown, ok: true, how: result.how, threads: result.threads })}\n`);
      continue;
    }
    io.stdout.write(render(shown, result));
  }
  return failed === 0 && targets.length > 0 ? 0 : 1;
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

// longreach attach QUALIFIER — the terminal debugger: an interactive prompt, or batch mode for scripts and CI.

import { parseArgs } from 'node:util';
import { connect } from '../../client/connect.js';
import { Debugger } from '../../client/debugger.js';
import { parsePathMapping, type PathMapping } from '../../client/path-map.js';
import { LongreachError } from '../../protocol/errors.js';
import { formatQualifier, parseQualifier } from '../../protocol/qualifier.js';
import { runBatch } from '../batch/run.js';
import { UsageError, useColor, type Io } from '../io.js';
import { trustDecider } from '../prompt-trust.js';
import { JsonSink } from '../render/json.js';
import { COLOR, PLAIN, TextSink } from '../render/text.js';
import { parseBreakOption } from '../repl/commands.js';
import { Controller, type Sink } from '../repl/controller.js';
import { runRepl } from '../repl/interactive.js';
import { readSecret, secretSource } from '../secret.js';
import { CONNECTION_OPTIONS, parseTimeout } from '../connection-options.js';

export const ATTACH_USAGE = `usage: longreach attach QUALIFIER [--break FILE:LINE[:COND]]... [--path-map LOCAL=REMOTE]...
                        [--catch raised|uncaught] [--batch FILE|-] [--json] [--timeout SECONDS]
                        [--secret-file FILE | --secret-env VAR] [--ca FILE] [--fingerprint sha256:HEX]
  QUALIFIER   tcp://[SECRET@]HOST[:PORT] or tcps://...  (default port 5678)
  --break     a breakpoint set before the program is let go (it stops there even when held in wait_for_attach)
  --path-map  where local files live on the remote machine (sent as attach pathMappings)
  --batch     run commands from FILE (- for stdin) instead of a prompt; each waits for its result
  --json      batch output as one JSON object per line (docs/cli.md)
  --timeout   bound on every wait in batch mode and on connecting (default 30 s; connecting: 10 s)
Type help at the prompt for the debugger commands.`;

export interface AttachSetup {
  target: string;
  secret?: string;
  /** Where the secret came from (--secret-file / --secret-env), named if it does not match. */
  secretSource?: string;
  breakpoints: { file: string; line: number; condition?: string }[];
  pathMappings: PathMapping[];
  exceptionFilters: string[];
  timeoutMs: number;
  connectTimeoutMs: number;
  ca?: string;
  fingerprint?: string;
}

export async function attachCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      break: { type: 'string', multiple: true },
      'path-map': { type: 'string', multiple: true },
      catch: { type: 'string', multiple: true },
      batch: { type: 'string' },
      ...CONNECTION_OPTIONS,
    },
  });
  if (values.help) {
    io.stdout.write(`${ATTACH_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`attach takes one qualifier\n${ATTACH_USAGE}`);
  const batchInput = values.batch ?? (io.stdin.isTTY === true ? undefined : '-');
  if (values.json && batchInput === undefined) throw new UsageError('--json goes with --batch (or commands on stdin)');
  const asUsage = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (err instanceof LongreachError) throw new UsageError(err.message);
      throw err;
    }
  };
  const timeoutMs = parseTimeout(values.timeout, 30);
  const secret = readSecret(values, io.env);
  const source = secretSource(values);
  const setup: AttachSetup = {
    target: positionals[0]!,
    ...(secret !== undefined ? { secret } : {}),
    ...(source !== undefined ? { secretSource: source } : {}),
    breakpoints: asUsage(() => (values.break ?? []).map(parseBreakOption)),
    pathMappings: asUsage(() => (values['path-map'] ?? []).map((m) => parsePathMapping(m))),
    exceptionFilters: (values.catch ?? []).flatMap((c) => c.split(',')).filter((c) => c !== 'off'),
    timeoutMs,
    connectTimeoutMs: values.timeout !== undefined ? timeoutMs : 10_000,
    ...(values.ca !== undefined ? { ca: values.ca } : {}),
    ...(values.fingerprint !== undefined ? { fingerprint: values.fingerprint } : {}),
  };
  parseQualifier(setup.target); // a malformed qualifier: LR_BAD_QUALIFIER with the expected shape, as list and stacks say it
  const write = (text: string): void => void io.stdout.write(text);
  const style = useColor(io) ? COLOR : PLAIN;
  if (batchInput !== undefined) {
    const sink: Sink = values.json ? new JsonSink(write) : new TextSink(write, style, { echo: true });
    const dbg = await openDebugger(setup, io);
    const controller = new Controller(dbg, sink, { timeoutMs: setup.timeoutMs, waitForStop: true });
    announce(sink, dbg);
    const input = batchInput === '-' ? io.stdin : batchInput;
    const { failed, attached } = await runBatch(controller, input);
    if (attached && dbg.state !== 'exited') {
      await controller.execute('detach');
    }
    await controller.flush();
    return failed > 0 ? 1 : 0;
  }
  const dbg = await openDebugger(setup, io);
  return runRepl(dbg, io, style, (sink) => announce(sink, dbg));
}

export function announce(sink: Sink, dbg: Debugger): void {
  const agent = dbg.session.hello.longreach?.agent ?? null;
  sink.event({ event: 'attached', target: formatQualifier(dbg.session.qualifier), agent: agent || 'plain DAP server', state: dbg.stop ? 'stopped' : dbg.state });
}

/** Connects, authenticates and attaches, with breakpoints in place before the program is let go. */
export async function openDebugger(setup: AttachSetup, io: Io): Promise<Debugger> {
  const decide = trustDecider(io);
  const session = await connect(setup.target, {
    timeoutMs: setup.connectTimeoutMs,
    ...(setup.secret !== undefined ? { secret: setup.secret } : {}),
    ...(setup.secretSource !== undefined ? { secretSource: setup.secretSource } : {}),
    ...(setup.ca !== undefined ? { ca: setup.ca } : {}),
    ...(setup.fingerprint !== undefined ? { fingerprint: setup.fingerprint } : {}),
    ...(decide ? { decide } : {}),
    onWarning: (w) => io.stderr.write(`${w}\n`),
    onNotice: (line) => io.stderr.write(`${line}\n`),
  });
  try {
    return await Debugger.attach(session, {
      breakpoints: setup.breakpoints,
      pathMappings: setup.pathMappings,
      exceptionFilters: setup.exceptionFilters,
      timeoutMs: Math.max(setup.connectTimeoutMs, 10_000),
    });
  } catch (err) {
    await session.disconnect().catch(() => undefined);
    throw err;
  }
}

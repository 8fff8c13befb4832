// longreach demo — the whole walkthrough on this machine: start the bundled example under the Python agent on
// 127.0.0.1 with a fresh random secret (passed in the environment, never argv) and a free port, list it, attach
// with a breakpoint, show the stop and its variables, step, evaluate, detach, and watch the program finish.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { listProcesses } from '../../client/list.js';
import { LongreachError } from '../../protocol/errors.js';
import { useColor, type Io } from '../io.js';
import { renderTable } from '../render/table.js';
import { COLOR, PLAIN, TextSink, type Style } from '../render/text.js';
import { Controller } from '../repl/controller.js';
import { runRepl } from '../repl/interactive.js';
import { announce, openDebugger } from './attach.js';

export const DEMO_USAGE = `usage: longreach demo [--interactive]
  Starts examples/python/orders.py under the Longreach Python agent on 127.0.0.1 (fresh random secret, free port),
  lists it, attaches, stops at a breakpoint, shows variables, steps, evaluates, detaches, and lets it finish.
  --interactive  hand the debugger prompt over at the first stop
  The interpreter is python3 on PATH, or LONGREACH_PYTHON.`;

const SECRET_VAR = 'LONGREACH_DEMO_SECRET';
const BREAK_LINE = 14;
const BREAK_CONDITION = 'order["qty"] >= 5';
const WAIT_MS = 15_000;

/** The package root, both in the repository (dist/src/cli/commands) and when installed. */
export function packageRoot(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const up of ['../../../..', '../../..']) {
    const root = join(here, up);
    if (existsSync(join(root, 'examples', 'python', 'orders.py')) && existsSync(join(root, 'python', 'longreach'))) return root;
  }
  throw new LongreachError('LR_INTERNAL', `the demo files (examples/python/orders.py, python/longreach) are missing next to ${here}; reinstall longreach`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Program {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

function startProgram(python: string, root: string, script: string, port: number, secret: string, io: Io): Program {
  const env = { ...io.env, [SECRET_VAR]: secret, PYTHONPATH: [join(root, 'python'), io.env.PYTHONPATH].filter(Boolean).join(':'), PYTHONUNBUFFERED: '1' };
  const child = spawn(python, ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', SECRET_VAR, '--wait', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(new LongreachError('LR_INTERNAL', err.code === 'ENOENT' ? `cannot run ${python}: not found (install Python 3, or set LONGREACH_PYTHON to an interpreter)` : `cannot run ${python}: ${err.message}`)),
    );
    child.once('exit', (code) => {
      if (partial !== '') lines.push(partial);
      if (stderr.trim() !== '') io.stderr.write(stderr.replace(/^/gm, '[program:err] '));
      resolve(code);
    });
  });
  exited.catch(() => undefined);
  return { child, lines, exited };
}

async function waitListening(target: string, secret: string, program: Program): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const [row] = await listProcesses(target, { secret, timeoutMs: 1000 });
    if (row?.ok) return;
    if (program.child.exitCode !== null) throw new LongreachError('LR_INTERNAL', `the example program ended before it listened (exit code ${program.child.exitCode})`);
    if (Date.now() > deadline) throw new LongreachError('LR_TIMEOUT', `the example program did not listen on ${target} within ${WAIT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function demoCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { interactive: { type: 'boolean', short: 'i' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.stdout.write(`${DEMO_USAGE}\n`);
    return 0;
  }
  const style: Style = useColor(io) ? COLOR : PLAIN;
  const say = (text: string): void => void io.stdout.write(`\n${style.yellow(`== ${text}`)}\n`);
  const root = packageRoot();
  const script = join(root, 'examples', 'python', 'orders.py');
  const shown = relative(process.cwd(), script).startsWith('..') ? script : relative(process.cwd(), script);
  const python = io.env.LONGREACH_PYTHON || 'python3';
  const secret = randomBytes(18).toString('base64url');
  const port = await freePort();
  const target = `tcp://127.0.0.1:${port}`;

  say(`1. Starting ${shown} under the Longreach Python agent on 127.0.0.1:${port}`);
  io.stdout.write(`   ${python} -m longreach --listen 127.0.0.1:${port} --secret-env ${SECRET_VAR} --wait ${basename(script)}\n`);
  io.stdout.write(`   (a fresh random secret is in ${SECRET_VAR}; --wait holds the program until a debugger has attached)\n`);
  const program = startProgram(python, root, script, port, secret, io);
  try {
    await Promise.race([waitListening(target, secret, program), program.exited.then(() => undefined)]);

    say(`2. Listing it: longreach list tcp://***@127.0.0.1:${port} --secret-env ${SECRET_VAR}`);
    const rows = await listProcesses(target, { secret, timeoutMs: 5000 });
    const ok = rows.filter((r): r is Extract<typeof r, { ok: true }> => r.ok);
    if (ok.length === 0) throw new LongreachError('LR_INTERNAL', `listing failed: ${rows.map((r) => (r.ok ? '' : r.message)).join('; ')}`);
    io.stdout.write(renderTable(['PID', 'PROGRAM', 'RUNTIME', 'USER', 'ATTACHED BY'], ok.map(({ info }) => [String(info.pid), basename(info.argv[0] ?? info.executable), info.runtimeDisplay, info.user, info.attached ? info.attached.address : '-']), 120));

    say(`3. Attaching with a conditional breakpoint at ${basename(script)}:${BREAK_LINE} (only for orders of 5 or more)`);
    io.stdout.write(`   longreach attach tcp://***@127.0.0.1:${port} --secret-env ${SECRET_VAR} --break '${shown}:${BREAK_LINE}:${BREAK_CONDITION}'\n`);
    const dbg = await openDebugger({ target, secret, breakpoints: [{ file: script, line: BREAK_LINE, condition: BREAK_CONDITION }], pathMappings: [], exceptionFilters: [], timeoutMs: WAIT_MS, connectTimeoutMs: 5000 }, io);
    let linesOverDap = 0;
    dbg.on('output', (o) => {
      if (o.category === 'stdout') linesOverDap += (o.text.match(/\n/g) ?? []).length;
    });
    const sink = new TextSink((t) => void io.stdout.write(t), style, { echo: true });
    const controller = new Controller(dbg, sink, { timeoutMs: WAIT_MS, waitForStop: true });
    announce(sink, dbg);
    let failed = 0;
    const run = async (line: string): Promise<void> => {
      const report = await controller.execute(line);
      if (report?.error) failed++;
    };
    say('4. The program runs into the breakpoint; where are we?');
    await run('wait');
    await run('bt');
    if (values.interactive) {
      say('Your turn: the prompt is yours (help lists the commands; detach leaves the program running).');
      controller.dispose();
      await runRepl(dbg, io, style, () => undefined);
    } else {
      say('5. Its variables');
      await run('locals');
      say('6. One step over to the next line');
      await run('next');
      await run('p subtotal');
      say('7. Evaluating an expression in the stopped frame');
      await run('p subtotal * (1 - discount)');
      say('8. Detaching: the breakpoint goes away and the program carries on by itself');
      await run('detach');
    }
    await controller.flush();
    say('9. The program finishes on its own (its output after the detach):');
    const code = await Promise.race([program.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new LongreachError('LR_TIMEOUT', `the program did not finish within ${WAIT_MS / 1000} s after the detach`)), WAIT_MS).unref())]);
    for (const line of program.lines.slice(linesOverDap)) io.stdout.write(`${style.dim('[program]')} ${line}\n`);
    io.stdout.write(`The program exited with code ${code}.\n`);
    if (!values.interactive) io.stdout.write('\nThat was the whole walkthrough. Try it yourself: longreach demo --interactive\n');
    return failed === 0 && code === 0 ? 0 : 1;
  } finally {
    if (program.child.exitCode === null && program.child.signalCode === null) program.child.kill();
  }
}

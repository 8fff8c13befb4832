// longreach inject PID --listen [HOST:]PORT (--secret-env VAR | --secret-file F | --no-secret) [--certfile F --keyfile F]
// Loads the agent into a running Node.js process (its inspector, opened and closed again) or Python process (the
// Python injector, `python -m longreach --pid`).

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LongreachError } from '../../protocol/errors.js';
import { UsageError, type Io } from '../io.js';
import { readSecret } from '../secret.js';
import { injectNode } from '../inject/node.js';
import { checkOwner, describe, inspectTarget } from '../inject/target.js';

export const INJECT_USAGE = `usage: longreach inject PID --listen [HOST:]PORT (--secret-env VAR | --secret-file FILE | --no-secret)
                        [--certfile FILE --keyfile FILE] [--allow-plain-secret] [--timeout SECONDS]
       longreach inject PID --connect HOST:PORT (--secret-env VAR | --secret-file FILE)
                        [--ca FILE | --fingerprint sha256:HEX] [--timeout SECONDS]      (Python targets)
  Load the Longreach agent into a running Node.js or Python process on this host and start it with these settings.
  --timeout  give up after SECONDS (default 10), leaving the process as it was`;

const PYTHON_DIR = fileURLToPath(new URL('../../../../python', import.meta.url));

export async function injectCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      listen: { type: 'string' },
      connect: { type: 'string' },
      ca: { type: 'string' },
      fingerprint: { type: 'string' },
      'secret-env': { type: 'string' },
      'secret-file': { type: 'string' },
      'no-secret': { type: 'boolean' },
      certfile: { type: 'string' },
      keyfile: { type: 'string' },
      'allow-plain-secret': { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${INJECT_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1 || !/^[1-9]\d*$/.test(positionals[0]!)) throw new UsageError(`inject needs one process id\n${INJECT_USAGE}`);
  const pid = Number(positionals[0]);
  if (values.listen === undefined && values.connect === undefined) throw new UsageError(`--listen [HOST:]PORT is required (or --connect HOST:PORT to dial a hub)\n${INJECT_USAGE}`);
  if (values.listen !== undefined && values.connect !== undefined) throw new UsageError('give --listen or --connect, not both');
  if (values.connect === undefined && (values.ca !== undefined || values.fingerprint !== undefined)) throw new UsageError('--ca and --fingerprint trust a hub: they go with --connect');
  const { host, port } = values.listen !== undefined ? parseListen(values.listen) : { host: '', port: 0 };
  const sources = [values['secret-env'], values['secret-file'], values['no-secret']].filter((v) => v !== undefined).length;
  if (sources !== 1) throw new UsageError('choose exactly one of --secret-env VAR, --secret-file FILE and --no-secret');
  if ((values.certfile === undefined) !== (values.keyfile === undefined)) throw new UsageError('--certfile and --keyfile go together');
  const seconds = values.timeout === undefined ? 10 : Number(values.timeout);
  if (!(seconds > 0 && seconds <= 3600)) throw new UsageError(`--timeout ${values.timeout}: expected seconds, more than 0 and at most 3600`);
  const secret = values['no-secret'] ? null : readSecret(values, io.env)!;

  const target = inspectTarget(pid);
  checkOwner(target);
  if (target.kind === 'cpython' || target.kind === 'pypy') {
    const args = ['--pid', String(pid), ...(values.listen !== undefined ? ['--listen', values.listen] : ['--connect', values.connect!]), '--timeout', String(seconds)];
    if (values.ca !== undefined) args.push('--ca', values.ca);
    if (values.fingerprint !== undefined) args.push('--fingerprint', values.fingerprint);
    if (values['secret-env'] !== undefined) args.push('--secret-env', values['secret-env']);
    else if (values['secret-file'] !== undefined) args.push('--secret-file', values['secret-file']);
    else args.push('--no-secret');
    if (values.certfile !== undefined) args.push('--certfile', values.certfile, '--keyfile', values.keyfile!);
    if (values['allow-plain-secret']) args.push('--allow-plain-secret');
    return runPythonInjector(args, io);
  }
  if (target.kind !== 'node') {
    throw new LongreachError('LR_INJECT_UNSUPPORTED', `${describe(target)} is neither Node.js nor Python (its program is ${target.exe ?? 'unknown'}); give the id of a node or python process`);
  }
  if (values.connect !== undefined) {
    throw new UsageError(`--connect is for Python targets; load a Node.js process with --listen (or restart it with LONGREACH_CONNECT=${values.connect} node --import longreach/register ...)`);
  }
  const result = await injectNode(target, {
    secret, host, port, allowPlainSecret: values['allow-plain-secret'] ?? false,
    // the agent opens these files in the target, whose working directory is not ours
    ...(values.certfile !== undefined ? { certfile: resolve(values.certfile), keyfile: resolve(values.keyfile!) } : {}),
  }, seconds * 1000);
  const scheme = values.certfile !== undefined ? 'tcps' : 'tcp';
  const how = values['secret-env'] !== undefined ? ` --secret-env ${values['secret-env']}` : values['secret-file'] !== undefined ? ` --secret-file ${values['secret-file']}` : '';
  io.stdout.write(`longreach: agent started in process ${pid} (Node.js), listening on ${result.host}:${result.port}; its inspector (port ${result.inspectorPort}) is closed again\n`);
  io.stdout.write(`attach with: longreach attach ${scheme}://${result.host === '0.0.0.0' || result.host === '::' ? '127.0.0.1' : result.host}:${result.port}${how}\n`);
  return 0;
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`--listen ${JSON.stringify(text)}: expected [HOST:]PORT with PORT from 0 to 65535, e.g. 5678 or 127.0.0.1:5678`);
  return { host: m[1] ?? m[2] ?? '0.0.0.0', port };
}

/** Python targets: the Python injector, run by LONGREACH_PYTHON (default python3) from this package's python/. */
function runPythonInjector(args: string[], io: Io): Promise<number> {
  const python = io.env.LONGREACH_PYTHON || 'python3';
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'longreach', ...args], {
      env: { ...io.env, PYTHONPATH: [PYTHON_DIR, io.env.PYTHONPATH].filter(Boolean).join(':') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (c: Buffer) => io.stdout.write(c));
    child.stderr.on('data', (c: Buffer) => io.stderr.write(c));
    child.on('error', (err) => reject(new LongreachError('LR_INJECT_FAILED', `cannot run ${python} for the Python injector (${err.message}); set LONGREACH_PYTHON to a Python 3.8+ interpreter`)));
    child.on('close', (code) => resolve(code ?? 1));
  });
}

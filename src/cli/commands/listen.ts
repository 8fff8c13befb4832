// longreach listen [HOST:]PORT — a hub that agents dial into (reverse connect, docs/protocol.md section 11).

import { parseArgs } from 'node:util';
import { startHub } from '../../hub/hub.js';
import { formatAddress } from '../../protocol/qualifier.js';
import { loadServerTls } from '../../protocol/tls.js';
import { UsageError, type Io } from '../io.js';
import { readSecret } from '../secret.js';

export const LISTEN_USAGE = `usage: longreach listen [HOST:]PORT (--secret-file FILE | --secret-env VAR) [--certfile FILE --keyfile FILE]
  Runs a hub in the foreground (Ctrl-C stops it). Agents dial into it (python -m longreach --connect HOST:PORT,
  LONGREACH_CONNECT=HOST:PORT for Node.js) and must prove they know the secret, after the hub proved it first.
  Clients reach every connected agent at the same port: longreach list tcp://HOST:PORT --secret-env VAR, then
  longreach attach tcp://HOST:PORT?pid=PID --secret-env VAR. HOST defaults to 0.0.0.0; port 0 picks a free port.
  --certfile/--keyfile serve TLS (tcps://) to agents and clients alike (make them with longreach cert create).`;

export function parseListenAddress(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`listen address ${JSON.stringify(text)} is not [HOST:]PORT (e.g. 5678, 0.0.0.0:5678 or [::1]:5678)\n${LISTEN_USAGE}`);
  return { host: m[1] ?? m[2] ?? '0.0.0.0', port };
}

export async function listenCommand(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'secret-file': { type: 'string' },
      'secret-env': { type: 'string' },
      certfile: { type: 'string' },
      keyfile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${LISTEN_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`listen needs one [HOST:]PORT\n${LISTEN_USAGE}`);
  const { host, port } = parseListenAddress(positionals[0]!);
  const secret = readSecret(values, io.env);
  if (secret === undefined) throw new UsageError(`listen needs the secret agents and clients share: --secret-file FILE or --secret-env VAR\n${LISTEN_USAGE}`);
  if ((values.certfile === undefined) !== (values.keyfile === undefined)) throw new UsageError('--certfile and --keyfile go together');
  const tls = values.certfile !== undefined && values.keyfile !== undefined ? loadServerTls({ certFile: values.certfile, keyFile: values.keyfile }) : undefined;
  const stamp = (): string => new Date().toISOString().slice(11, 19);
  const hub = await startHub({
    secret,
    host,
    port,
    ...(tls ? { tls: { cert: String(tls.options.cert), key: String(tls.options.key) } } : {}),
    onEvent: (line) => io.stdout.write(`${stamp()} ${line}\n`),
  });
  const shown = formatAddress(host === '0.0.0.0' || host === '::' ? 'HOST' : host, hub.port);
  const scheme = tls ? 'tcps' : 'tcp';
  const pin = tls ? `?fingerprint=${tls.fingerprint}` : '';
  io.stdout.write(
    `longreach hub listening on ${formatAddress(hub.host, hub.port)}${tls ? ` (TLS, fingerprint ${tls.fingerprint})` : ''}\n` +
      `  agents:  python -m longreach --connect ${shown} --secret-env VAR${tls ? ` --fingerprint ${tls.fingerprint}` : ''} script.py\n` +
      `           LONGREACH_CONNECT=${shown}${tls ? ` LONGREACH_FINGERPRINT=${tls.fingerprint}` : ''} node --import longreach/register app.js\n` +
      `  clients: longreach list '${scheme}://${shown}${pin}' --secret-env VAR\n` +
      `           longreach attach '${scheme}://${shown}?pid=PID${tls ? `&fingerprint=${tls.fingerprint}` : ''}' --secret-env VAR\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    signal?.addEventListener('abort', stop);
  });
  await hub.close();
  io.stdout.write(`${stamp()} hub stopped\n`);
  return 0;
}

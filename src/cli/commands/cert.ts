// `longreach cert create`: a self-signed certificate and key for a tcps:// agent, and how to use them.

import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { createSelfSignedCertificate, DEFAULT_CERT_DAYS, DEFAULT_CERT_HOSTS, MAX_CERT_DAYS, writeCertificateFiles } from '../../protocol/certs.js';
import { LongreachError } from '../../protocol/errors.js';

export const CERT_USAGE = `usage: longreach cert create [--host NAME ...] [--out DIR] [--days N] [--force]
  --host NAME  a DNS name or IP address clients will use to reach the agent (repeatable, or comma-separated;
               default: ${DEFAULT_CERT_HOSTS.join(', ')})
  --out DIR    where to write cert.pem and key.pem (default: the current directory)
  --days N     how long the certificate is valid, 1-${MAX_CERT_DAYS} days (default ${DEFAULT_CERT_DAYS})
  --force      replace an existing cert.pem / key.pem
`;

interface CertIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

class CertUsageError extends Error {}

function quote(arg: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

function parseDays(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CERT_DAYS;
  const days = /^\d{1,5}$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isInteger(days) || days < 1 || days > MAX_CERT_DAYS) {
    throw new CertUsageError(`--days must be a whole number from 1 to ${MAX_CERT_DAYS}, got ${JSON.stringify(text)}`);
  }
  return days;
}

function parse(argv: string[]): { help: true } | { help: false; hosts: string[]; out: string; days: number; force: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        host: { type: 'string', multiple: true },
        out: { type: 'string' },
        days: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new CertUsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { help: true };
  const [sub, ...extra] = positionals;
  if (sub !== 'create') {
    throw new CertUsageError(sub === undefined ? 'say what to do: longreach cert create' : `unknown cert command ${JSON.stringify(sub)}; the only one is: longreach cert create`);
  }
  if (extra.length > 0) throw new CertUsageError(`unexpected argument ${JSON.stringify(extra[0])}; give host names with --host NAME`);
  const hosts = (values.host ?? []).flatMap((h) => h.split(',')).map((h) => h.trim());
  if (hosts.some((h) => h === '')) throw new CertUsageError('--host needs a DNS name or an IP address, e.g. --host myhost.example.com');
  if (values.out === '') throw new CertUsageError('--out needs a directory, e.g. --out ./tls');
  return { help: false, hosts, out: values.out ?? '.', days: parseDays(values.days), force: values.force === true };
}

/** Runs `longreach cert ...`; returns the exit status (0 done, 1 failed, 2 bad usage). */
export async function certCommand(argv: string[], io: CertIo): Promise<number> {
  let options;
  try {
    options = parse(argv);
  } catch (err) {
    if (!(err instanceof CertUsageError)) throw err;
    io.stderr.write(`longreach: ${err.message}\n${CERT_USAGE}`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(CERT_USAGE);
    return 0;
  }
  try {
    const created = await createSelfSignedCertificate({ hosts: options.hosts, days: options.days });
    const files = await writeCertificateFiles(options.out, created, { force: options.force });
    const first = created.hosts[0] ?? 'localhost';
    const host = isIP(first) === 6 ? `[${first}]` : first;
    io.stdout.write(
      [
        `Wrote ${files.certPath} (certificate)`,
        `  and ${files.keyPath} (private key, mode 0600: keep it secret, on the debugged machine only).`,
        `Hosts:       ${created.hosts.join(', ')}`,
        `Valid:       ${created.validFrom.toISOString()} to ${created.validTo.toISOString()}`,
        `Fingerprint: ${created.fingerprint}`,
        '',
        'Start the Python agent with it:',
        `  python -m longreach --listen 0.0.0.0:5678 --secret-env LONGREACH_SECRET --certfile ${quote(files.certPath)} --keyfile ${quote(files.keyPath)} script.py`,
        '',
        'Attach with this qualifier (SECRET is the agent\'s secret; use your own port):',
        `  tcps://SECRET@${host}:5678?fingerprint=${created.fingerprint}`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (err) {
    if (!(err instanceof LongreachError)) throw err;
    io.stderr.write(`longreach: error [${err.code}]: ${err.message}\n`);
    return err.code === 'LR_BAD_OPTION' ? 2 : 1;
  }
}

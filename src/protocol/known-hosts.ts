// The trust-on-first-use store (docs/protocol.md section 6): a text file of `HOST:PORT sha256:HEX` lines,
// like OpenSSH's known_hosts. Comments (#) and blank lines are kept; lines that cannot be read are ignored.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isIP } from 'node:net';
import { dirname, isAbsolute, join, win32 } from 'node:path';
import { LongreachError } from './errors.js';
import { parseFingerprint } from './tls.js';

export interface KnownHostEntry {
  /** `host:port`, or `[v6]:port` for IPv6 addresses; host names lower case. */
  hostPort: string;
  fingerprint: string;
}

export interface KnownHostsEnvironment {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

/**
 * Where the store lives: $LONGREACH_KNOWN_HOSTS (for tests and unusual setups), else on Windows
 * %APPDATA%\longreach\known_hosts, else $XDG_CONFIG_HOME/longreach/known_hosts (when absolute),
 * else ~/.config/longreach/known_hosts.
 */
export function defaultKnownHostsPath(where: KnownHostsEnvironment = {}): string {
  const env = where.env ?? process.env;
  const platform = where.platform ?? process.platform;
  const home = where.home ?? homedir();
  const override = env['LONGREACH_KNOWN_HOSTS'];
  if (override !== undefined && override !== '') return override;
  if (platform === 'win32') {
    const appData = env['APPDATA'];
    const base = appData !== undefined && appData !== '' ? appData : win32.join(home, 'AppData', 'Roaming');
    return win32.join(base, 'longreach', 'known_hosts');
  }
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, '.config');
  return join(base, 'longreach', 'known_hosts');
}

/** An explicit path wins over the environment and the default. */
export function resolveKnownHostsPath(explicit?: string): string {
  return explicit !== undefined && explicit !== '' ? explicit : defaultKnownHostsPath();
}

/** The key a host is stored under: `example.com:5678`, `10.0.0.7:5678`, `[::1]:5678`. */
export function hostPortKey(host: string, port: number): string {
  const bare = (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
  return isIP(bare) === 6 ? `[${bare}]:${port}` : `${bare}:${port}`;
}

const LINE = /^(\[[0-9a-f:.%a-z]+\]|[^\s:[\]]+):(\d{1,5})\s+(\S+)\s*$/i;

/** Parses the store's text. Lines that are not `HOST:PORT sha256:HEX` are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (match === null) continue;
    const port = Number(match[2]);
    if (port < 1 || port > 65535) continue;
    let fingerprint: string;
    try {
      fingerprint = parseFingerprint(match[3] ?? '');
    } catch {
      continue;
    }
    entries.push({ hostPort: hostPortKey(match[1] ?? '', port), fingerprint });
  }
  return entries;
}

async function readStore(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return '';
    throw new LongreachError(
      'LR_BAD_OPTION',
      `cannot read the known_hosts file ${path} (${code ?? String(err)}); fix its permissions or set LONGREACH_KNOWN_HOSTS`,
      { cause: err, details: { path } },
    );
  }
}

/** The fingerprints stored for `host:port` (empty when unknown or when the file does not exist). */
export async function lookupKnownHost(path: string, host: string, port: number): Promise<string[]> {
  const key = hostPortKey(host, port);
  return parseKnownHosts(await readStore(path))
    .filter((e) => e.hostPort === key)
    .map((e) => e.fingerprint);
}

/**
 * Appends `HOST:PORT sha256:HEX` to the store, creating it (and its directory) if needed. The new file is
 * written next to the old one and renamed over it, so a reader never sees half a file.
 */
export async function addKnownHost(path: string, host: string, port: number, fingerprint: string): Promise<void> {
  const key = hostPortKey(host, port);
  const fp = parseFingerprint(fingerprint, 'LR_BAD_OPTION');
  const old = await readStore(path);
  if (parseKnownHosts(old).some((e) => e.hostPort === key && e.fingerprint === fp)) return;
  const text = `${old}${old === '' || old.endsWith('\n') ? '' : '\n'}${key} ${fp}\n`;
  const tmp = join(dirname(path), `.known_hosts.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(tmp, text, { mode: 0o644, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new LongreachError(
      'LR_BAD_OPTION',
      `cannot write the known_hosts file ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); ` +
        'fix its permissions or set LONGREACH_KNOWN_HOSTS to another file',
      { cause: err, details: { path } },
    );
  }
}

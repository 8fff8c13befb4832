// The --import launcher's configuration from environment variables (see register.ts for the list).

import { readFileSync } from 'node:fs';
import { LongreachError } from '../protocol/errors.js';
import type { EnableAttachOptions } from './api.js';

export interface RegisterConfig {
  options: EnableAttachOptions;
  /** Seconds to wait for a debugger before the program runs (Infinity: forever), or null not to wait. */
  wait: number | null;
}

function fail(message: string): never {
  throw new LongreachError('LR_BAD_OPTION', message);
}

/** Reads the launcher's configuration from an environment (pure apart from reading the secret file). */
export function configFromEnv(env: NodeJS.ProcessEnv): RegisterConfig {
  const listen = env.LONGREACH_LISTEN?.trim() || '127.0.0.1:5678';
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$|^(\d+)$/.exec(listen);
  if (!m) fail(`LONGREACH_LISTEN=${JSON.stringify(listen)} is not [HOST:]PORT (e.g. 0.0.0.0:5678, [::1]:5678 or 5678)`);
  const host = m[1] ?? (m[2] || undefined) ?? '127.0.0.1';
  const port = Number(m[3] ?? m[4]);
  if (port > 65535) fail(`LONGREACH_LISTEN port ${port} is out of range (0-65535)`);
  let secret: string | null;
  if (env.LONGREACH_SECRET_FILE) {
    let text: string;
    try {
      text = readFileSync(env.LONGREACH_SECRET_FILE, 'utf8');
    } catch (err) {
      fail(`LONGREACH_SECRET_FILE ${env.LONGREACH_SECRET_FILE} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); point it at a file holding the secret`);
    }
    secret = text.split(/\r?\n/, 1)[0] ?? '';
    if (!secret) fail(`LONGREACH_SECRET_FILE ${env.LONGREACH_SECRET_FILE} is empty; write the secret on its first line`);
  } else if (env.LONGREACH_SECRET) {
    secret = env.LONGREACH_SECRET;
  } else if (env.LONGREACH_NO_SECRET === '1') {
    secret = null;
  } else {
    fail('no secret: set LONGREACH_SECRET_FILE (a file holding the secret) or LONGREACH_SECRET, or LONGREACH_NO_SECRET=1 to let anyone attach');
  }
  const options: EnableAttachOptions = env.LONGREACH_CONNECT?.trim() ? { secret, connect: env.LONGREACH_CONNECT.trim() } : { secret, host, port };
  if (env.LONGREACH_CA) options.ca = env.LONGREACH_CA;
  if (env.LONGREACH_FINGERPRINT) options.fingerprint = env.LONGREACH_FINGERPRINT;
  if (env.LONGREACH_CERTFILE) options.certfile = env.LONGREACH_CERTFILE;
  if (env.LONGREACH_KEYFILE) options.keyfile = env.LONGREACH_KEYFILE;
  const follow = env.LONGREACH_SUBPROCESS?.trim().toLowerCase();
  if (follow === '0' || follow === 'false') options.subprocess = false;
  else if (follow && follow !== '1' && follow !== 'true') fail(`LONGREACH_SUBPROCESS=${JSON.stringify(env.LONGREACH_SUBPROCESS)} is not understood; use 0 not to follow child processes, or 1 (the default)`);
  let wait: number | null = null;
  const w = env.LONGREACH_WAIT?.trim();
  if (w && w !== '0' && w.toLowerCase() !== 'false') {
    if (w === '1' || w.toLowerCase() === 'true') wait = Infinity;
    else if (/^\d+(\.\d+)?s?$/.test(w)) wait = Number.parseFloat(w);
    else fail(`LONGREACH_WAIT=${JSON.stringify(w)} is not understood; use 1 to wait for a debugger, or a number of seconds`);
  }
  return { options, wait };
}

// The options every command that connects to an agent shares: how long to wait, where the secret comes
// from (never a plain option: `ps` would show it), and TLS trust.

import { UsageError } from './io.js';

export const CONNECTION_OPTIONS = {
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  'secret-file': { type: 'string' },
  'secret-env': { type: 'string' },
  ca: { type: 'string' },
  fingerprint: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parseTimeout(value: string | undefined, defaultSeconds: number): number {
  if (value === undefined) return defaultSeconds * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new UsageError(`--timeout takes seconds from 0 to 3600, got ${JSON.stringify(value)}`);
  return Math.round(seconds * 1000);
}

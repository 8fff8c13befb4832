// Opt-in logging (docs/protocol.md section 10): LONGREACH_LOG=wire,auth,dap (or all), LONGREACH_LOG_FILE=PATH.
// Off by default; never writes to stdout/stderr; every line passes through redaction.

import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maskSecrets } from './qualifier.js';

export type LogArea = 'wire' | 'auth' | 'dap' | 'server' | 'client' | 'tls' | 'agent' | 'hub' | 'cdp';

const REDACTED_KEYS = new Set(['secret', 'secretFromSession', 'proof', 'serverProof', 'nonce', 'clientNonce']);
const MAX_LOGGED_BODY = 1024;

interface LogConfig {
  areas: Set<string>;
  file: string;
}

let config: LogConfig | null | undefined;

function load(): LogConfig | null {
  const spec = process.env.LONGREACH_LOG?.trim();
  if (!spec) return null;
  const areas = new Set(spec.split(',').map((a) => a.trim().toLowerCase()).filter(Boolean));
  const file = process.env.LONGREACH_LOG_FILE || join(tmpdir(), `longreach-${process.pid}.log`);
  return { areas, file };
}

/** Re-reads the environment (tests change LONGREACH_LOG between cases). */
export function reloadLogConfig(): void {
  config = undefined;
}

export function logEnabled(area: LogArea): boolean {
  if (config === undefined) config = load();
  return config !== null && (config.areas.has(area) || config.areas.has('all'));
}

export function log(area: LogArea, message: string): void {
  if (!logEnabled(area)) return;
  const line = `${new Date().toISOString()} ${process.pid} ${area} ${maskSecrets(message)}\n`;
  try {
    appendFileSync(config!.file, line, { mode: 0o600 });
  } catch {
    // Logging must never disturb the program; a log file we cannot write is silently dropped.
  }
}

/** Logs one DAP message with its direction; secrets are replaced and long bodies shortened. */
export function logWire(direction: '<-' | '->', peer: string, message: unknown): void {
  if (!logEnabled('wire')) return;
  let text = JSON.stringify(redact(message));
  if (text.length > MAX_LOGGED_BODY) text = `${text.slice(0, MAX_LOGGED_BODY)}... (${text.length} chars)`;
  log('wire', `${direction} ${peer} ${text}`);
}

/** A deep copy with secret-bearing fields replaced by ***. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = REDACTED_KEYS.has(key) ? '***' : redact(v, depth + 1);
  return out;
}

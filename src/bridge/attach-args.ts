// The editor's `attach` arguments → what the bridge needs to connect, and what it forwards to the agent.
// Pure policy: no sockets. Every bad argument is an LR_BAD_REQUEST whose message names the argument.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { LongreachError } from '../protocol/errors.js';
import { formatQualifier, parseQualifier, type Qualifier } from '../protocol/qualifier.js';
import { parseFingerprint } from '../protocol/tls.js';

/** Arguments the bridge consumes itself; everything else is forwarded to the agent's `attach`. */
export const BRIDGE_ONLY_ARGS = ['qualifier', 'secret', 'secretFile', 'secretEnv', 'secretFromSession', 'childSessions', 'ca', 'fingerprint', 'insecure', 'timeout', 'requestTimeout'] as const;

export const DEFAULT_CONNECT_TIMEOUT_S = 10;
export const DEFAULT_REQUEST_TIMEOUT_S = 60;

export interface AttachPlan {
  qualifier: Qualifier;
  /** The qualifier as shown to people: secret masked. */
  shown: string;
  /** The secret to authenticate with (never forwarded), or null for an agent without one. */
  secret: string | null;
  /** Where the secret came from, named if the agent says it did not match. */
  secretSource?: string;
  ca?: string;
  fingerprint?: string;
  insecure?: boolean;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  /** The agent's `attach` arguments: the editor's, minus every bridge-only argument. */
  forward: Record<string, unknown>;
  /** Things the person should see in the debug console (e.g. a secret stored in clear). */
  warnings: string[];
  /** How a child session (startDebugging) gets this secret without it being written in its configuration. */
  handOver: SecretHandOver;
  /** The "childSessions" argument: false keeps a job's children as threads even for an editor that could open sessions. */
  childSessions: boolean;
}

/**
 * A secret from a file or a variable is handed over by naming the same file or variable; one written inline, in
 * the qualifier, or handed over out of band ("held") can only be shared in memory with sessions of this same
 * adapter process (shareSecret); "none": the agent needs no secret.
 */
export type SecretHandOver = { secretFile: string } | { secretEnv: string } | 'held' | 'none';

export interface PlanContext {
  env: NodeJS.ProcessEnv;
  /** A secret handed over out of band (the VS Code extension's prompt), consulted when no other source is given. */
  lookupSecret?: (args: Record<string, unknown>) => string | undefined;
}

const bad = (message: string): LongreachError => new LongreachError('LR_BAD_REQUEST', message);

function optionalString(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw bad(`attach argument "${name}" must be a non-empty string`);
  return value;
}

function seconds(args: Record<string, unknown>, name: string, fallback: number): number {
  const value = args[name];
  if (value === undefined || value === null) return fallback * 1000;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 3600) {
    throw bad(`attach argument "${name}" must be a number of seconds between 0 and 3600, got ${JSON.stringify(value)}`);
  }
  return Math.round(value * 1000);
}

/** `~/x` → the home directory's x (editors do not all expand it). */
export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

function readSecretFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(expandHome(path), 'utf8');
  } catch (err) {
    throw bad(`cannot read the secret file "secretFile": ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret === '') throw bad(`the secret file ${path} ("secretFile") is empty`);
  return secret;
}

function checkPathMappings(value: unknown): void {
  if (value === undefined) return;
  const shape = 'an array of {"localRoot": "...", "remoteRoot": "..."}';
  if (!Array.isArray(value)) throw bad(`attach argument "pathMappings" must be ${shape}`);
  value.forEach((m: unknown, i) => {
    const entry = m as { localRoot?: unknown; remoteRoot?: unknown } | null;
    if (typeof entry !== 'object' || entry === null || typeof entry.localRoot !== 'string' || typeof entry.remoteRoot !== 'string') {
      throw bad(`attach argument "pathMappings[${i}]" must be {"localRoot": "...", "remoteRoot": "..."} (both strings); "pathMappings" is ${shape}`);
    }
  });
}

/** Validates the editor's attach arguments and reads the secret. Throws LongreachError (LR_BAD_REQUEST, LR_BAD_QUALIFIER). */
export function planAttach(raw: unknown, context: PlanContext): AttachPlan {
  if (raw !== undefined && raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw bad('attach arguments must be an object: {"qualifier": "tcps://HOST:PORT", "secretFile": "..."}');
  }
  const args = (raw ?? {}) as Record<string, unknown>;
  const text = args.qualifier;
  if (text === undefined || text === null || text === '') {
    throw bad('attach argument "qualifier" is missing: say where the agent listens, e.g. "qualifier": "tcps://HOST:5678", and give the secret with "secretFile" or "secretEnv"');
  }
  if (typeof text !== 'string') throw bad('attach argument "qualifier" must be a string such as "tcps://HOST:5678"');
  const qualifier = parseQualifier(text);
  const shown = formatQualifier(qualifier);
  const warnings: string[] = [];

  const sources = (['secret', 'secretFile', 'secretEnv', 'secretFromSession'] as const).filter((k) => args[k] !== undefined && args[k] !== null);
  if (sources.length > 1) throw bad(`give only one of ${sources.map((s) => `"${s}"`).join(', ')}`);
  let secret: string | null = qualifier.secret;
  if (sources.length === 1 && qualifier.secret !== null) throw bad(`the qualifier already carries a secret; remove it or "${sources[0]}"`);
  const inline = optionalString(args, 'secret');
  const file = optionalString(args, 'secretFile');
  const envName = optionalString(args, 'secretEnv');
  const shared = optionalString(args, 'secretFromSession');
  let source: string | undefined;
  let handOver: SecretHandOver = qualifier.secret !== null ? 'held' : 'none';
  if (inline !== undefined) {
    handOver = 'held';
    secret = inline;
    source = '"secret" in the debug configuration';
    warnings.push('the secret is written in the debug configuration ("secret"); prefer "secretFile" or "secretEnv" so it is not stored in clear. It is not sent over the network: the bridge authenticates with a challenge-response.');
  } else if (file !== undefined) {
    secret = readSecretFile(file);
    source = `the file given as "secretFile" (${file})`;
    handOver = { secretFile: file };
  } else if (envName !== undefined) {
    const value = context.env[envName];
    if (value === undefined || value === '') throw bad(`environment variable ${envName} ("secretEnv") is not set for the debug adapter; set it where the editor is started, or use "secretFile"`);
    secret = value;
    source = `the environment variable ${envName} given as "secretEnv"`;
    handOver = { secretEnv: envName };
  } else if (shared !== undefined) {
    const held = sharedSecrets.get(shared);
    if (held === undefined) {
      throw bad('attach argument "secretFromSession" names no secret this adapter holds: the session that opened this child session has ended, or this session runs in another adapter process. Start the parent session again, or give the secret with "secretFile" or "secretEnv"');
    }
    secret = held;
    source = 'the secret of the session that opened this child session';
    handOver = 'held';
  } else if (secret === null) {
    secret = context.lookupSecret?.(args) ?? null;
    if (secret !== null) {
      source = 'the secret you entered';
      handOver = 'held';
    }
  }
  if (qualifier.secret !== null) source = 'the part before @ in "qualifier"';
  if (qualifier.secret !== null) warnings.push('the secret is written in the qualifier; prefer "secretFile" or "secretEnv"');

  const plan: AttachPlan = {
    qualifier,
    shown,
    secret,
    connectTimeoutMs: seconds(args, 'timeout', DEFAULT_CONNECT_TIMEOUT_S),
    requestTimeoutMs: seconds(args, 'requestTimeout', DEFAULT_REQUEST_TIMEOUT_S),
    forward: {},
    warnings,
    handOver,
    childSessions: args.childSessions !== false,
    ...(source !== undefined ? { secretSource: source } : {}),
  };
  const ca = optionalString(args, 'ca');
  const fingerprint = optionalString(args, 'fingerprint');
  const insecure = args.insecure;
  if (insecure !== undefined && typeof insecure !== 'boolean') throw bad('attach argument "insecure" must be true or false');
  if (args.childSessions !== undefined && typeof args.childSessions !== 'boolean') throw bad('attach argument "childSessions" must be true or false');
  if (qualifier.scheme === 'tcp' && (ca !== undefined || fingerprint !== undefined || insecure === true)) {
    throw bad(`"ca", "fingerprint" and "insecure" are TLS options, but ${shown} is plain tcp://; use tcps://`);
  }
  if (ca !== undefined) plan.ca = expandHome(ca);
  if (fingerprint !== undefined) plan.fingerprint = parseFingerprint(fingerprint, 'LR_BAD_REQUEST');
  if (insecure === true) plan.insecure = true;
  checkPathMappings(args.pathMappings);

  for (const [key, value] of Object.entries(args)) {
    if (!(BRIDGE_ONLY_ARGS as readonly string[]).includes(key)) plan.forward[key] = value;
  }
  return plan;
}

// ---- child sessions (DAP startDebugging) ----------------------------------------------------------------------

/** Secrets shared with child sessions of this adapter process, by random id; never written anywhere. */
const sharedSecrets = new Map<string, string>();

/** Holds `secret` for child sessions of this process; the id goes in their configuration ("secretFromSession"). */
export function shareSecret(secret: string): string {
  const id = randomBytes(16).toString('hex');
  sharedSecrets.set(id, secret);
  return id;
}

export function forgetSharedSecret(id: string): void {
  sharedSecrets.delete(id);
}

/** Arguments a child configuration never copies from its parent's: it gets its own target, secret source and name. */
const NOT_INHERITED = new Set(['type', 'request', 'name', 'qualifier', 'secret', 'secretFile', 'secretEnv', 'secretFromSession', 'childSessions']);

export interface ChildProcessInfo {
  pid: number;
  label: string;
}

/**
 * The configuration of the child session for one process of a job: the parent's arguments (TLS options,
 * timeouts, pathMappings, ...) with the qualifier narrowed to `?pid=PID`, and the same secret source: the same
 * "secretFile" or "secretEnv", or `sharedId` (shareSecret) for a secret that is only in memory. Editor
 * bookkeeping (`__` keys) is left to the editor.
 */
export function childConfiguration(args: Record<string, unknown>, plan: AttachPlan, child: ChildProcessInfo, sharedId?: string): Record<string, unknown> {
  const config: Record<string, unknown> = {
    type: typeof args.type === 'string' ? args.type : 'longreach',
    request: 'attach',
    name: `pid ${child.pid}${child.label ? ` ${child.label}` : ''}`,
    qualifier: formatQualifier({ ...plan.qualifier, secret: null, pid: child.pid }),
  };
  const hand = plan.handOver;
  if (hand === 'held') config.secretFromSession = sharedId;
  else if (hand !== 'none') Object.assign(config, hand);
  for (const [key, value] of Object.entries(args)) {
    if (!NOT_INHERITED.has(key) && !key.startsWith('__')) config[key] = value;
  }
  return config;
}

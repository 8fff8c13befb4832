// Editor-side policy that is not tied to any editor API: debug configuration resolution, the "Available
// Processes" pick list, and the untrusted-certificate question. The VS Code extension is a thin shell over
// these (editors/vscode/src/extension.ts); they are unit-tested without VS Code.

import type { ListRow } from '../client/list.js';
import { LongreachError } from '../protocol/errors.js';
import { formatQualifier, parseQualifier, type Qualifier } from '../protocol/qualifier.js';
import type { CertificateInfo, TrustDecision } from '../protocol/trust.js';
import { planAttach } from './attach-args.js';

export const DEBUG_TYPE = 'longreach';

/** What VS Code offers when it creates launch.json (also the snippet bodies). */
export const INITIAL_CONFIGURATIONS = [
  {
    type: DEBUG_TYPE,
    request: 'attach',
    name: 'Longreach: attach (TLS)',
    qualifier: 'tcps://HOST:5678',
    secretFile: '${userHome}/.config/longreach/secret',
    fingerprint: 'sha256:PASTE-THE-FINGERPRINT-PRINTED-BY-longreach-cert-create',
    pathMappings: [{ localRoot: '${workspaceFolder}', remoteRoot: '/srv/app' }],
  },
];

export type Resolution =
  | { kind: 'attach'; config: Record<string, unknown> }
  /** No configuration at all (F5 without launch.json): run "Attach to Process…". */
  | { kind: 'pick' }
  | { kind: 'error'; message: string };

/**
 * Checks a debug configuration before a session starts: fills type/request/name, and reports every problem the
 * bridge would report at attach time (bad qualifier, missing secret source, bad pathMappings), so the person
 * sees it before anything connects.
 */
export function resolveConfiguration(config: Record<string, unknown>, env: NodeJS.ProcessEnv, hasPromptedSecret = false): Resolution {
  const meaningful = Object.keys(config).filter((k) => !k.startsWith('__') && !['type', 'request', 'name', 'noDebug'].includes(k));
  if (meaningful.length === 0) return { kind: 'pick' };
  if (config.request !== undefined && config.request !== 'attach') {
    return { kind: 'error', message: `Longreach only attaches: use "request": "attach" (got ${JSON.stringify(config.request)}), and start the program under a Longreach agent` };
  }
  const resolved: Record<string, unknown> = { ...config, type: DEBUG_TYPE, request: 'attach' };
  try {
    const plan = planAttach(resolved, { env, ...(hasPromptedSecret ? { lookupSecret: () => 'prompted' } : {}) });
    if (typeof resolved.name !== 'string' || resolved.name === '') resolved.name = `Longreach: ${plan.shown}`;
  } catch (err) {
    if (err instanceof LongreachError) return { kind: 'error', message: err.message };
    throw err;
  }
  return { kind: 'attach', config: resolved };
}

/** An input box's validation: undefined when the text is a usable qualifier (port ranges allowed for listing). */
export function checkQualifier(text: string): string | undefined {
  try {
    parseQualifier(text, { allowRange: true });
    return undefined;
  } catch (err) {
    return err instanceof LongreachError ? err.message : String(err);
  }
}

export interface ProcessItem {
  label: string;
  description: string;
  detail: string;
  /** Attach configuration for this process (without any secret), or null for a row that could not be listed or a
   * process of a job that has not joined it (no agent runs there). */
  config: Record<string, unknown> | null;
}

/** The "Available Processes" list: one item per port, reachable ones first; failures say why. */
export function processItems(base: string | Qualifier, rows: ListRow[]): ProcessItem[] {
  const q = typeof base === 'string' ? parseQualifier(base, { allowRange: true }) : base;
  const items = rows.map((row): ProcessItem => {
    const pid = row.ok && row.target.includes('pid=') ? { pid: row.pid } : {};
    const target = formatQualifier({ ...q, secret: null, port: row.port, portEnd: row.port, ...pid });
    if (!row.ok) return { label: `$(error) port ${row.port}`, description: row.code, detail: row.message, config: null };
    const info = row.info;
    const program = info.argv.length > 0 ? info.argv.join(' ') : info.executable;
    if (row.notJoined !== undefined) {
      // a process of the job with no agent in it: shown, so that the job is whole, but it cannot be picked
      return { label: `$(circle-slash) ${info.pid}  ${program.length > 60 ? `${program.slice(0, 57)}...` : program}`, description: 'not joined: cannot be attached', detail: `belongs to this job but ${row.notJoined}`, config: null };
    }
    const attached = info.attached ? `attached by ${info.attached.address} since ${info.attached.since}` : 'not attached';
    return {
      label: `${info.pid}  ${row.label ? `${row.label}  ` : ''}${program.length > 60 ? `${program.slice(0, 57)}...` : program}`,
      description: `${info.runtimeDisplay} · ${info.user}@${info.hostname}`,
      detail: `${target} · ${attached}`,
      config: { type: DEBUG_TYPE, request: 'attach', name: `Longreach: ${info.pid} ${info.argv[0] ?? info.executable}`, qualifier: target },
    };
  });
  return [...items.filter((i) => i.config !== null), ...items.filter((i) => i.config === null)];
}

export const TRUST_ONCE = 'Trust once';
export const TRUST_ALWAYS = 'Always trust';

/** The seed's SSL warning, with the SHA-256 fingerprint to compare: a modal with "Trust once / Always trust" (+ Cancel). */
export function certificateQuestion(info: CertificateInfo): { message: string; detail: string; choices: [string, string] } {
  const where = info.host.includes(':') ? `[${info.host}]:${info.port}` : `${info.host}:${info.port}`;
  return {
    message: `The certificate of ${where} is not trusted`,
    detail: [
      info.caProblem ? `Why: ${info.caProblem}.` : undefined,
      `Subject: ${info.subject}`,
      `Issuer: ${info.issuer}${info.selfSigned ? ' (self-signed)' : ''}`,
      `Valid: ${info.validFrom.toISOString()} to ${info.validTo.toISOString()}`,
      `SHA-256 fingerprint: ${info.fingerprintDisplay}`,
      '',
      'Compare the fingerprint with the one printed by `longreach cert create` on the server. "Always trust" remembers it in known_hosts.',
    ]
      .filter((line) => line !== undefined)
      .join('\n'),
    choices: [TRUST_ONCE, TRUST_ALWAYS],
  };
}

/** The person's answer (undefined: the modal was cancelled). */
export function trustDecision(choice: string | undefined): TrustDecision {
  return choice === TRUST_ONCE ? 'once' : choice === TRUST_ALWAYS ? 'always' : 'abort';
}

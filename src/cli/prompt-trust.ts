// Asks a person on a terminal whether to trust an unknown certificate (docs/protocol.md section 6, step 3).
// Policy only: trust.ts calls it through `decide` and does the remembering.

import { createInterface } from 'node:readline';
import type { CertificateInfo, TrustDecider, TrustDecision } from '../protocol/trust.js';

export interface PromptStreams {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
}

const MAX_ASKS = 3;

function when(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The text shown before the question. */
export function describeCertificate(info: CertificateInfo, now: Date = new Date()): string {
  const where = info.host.includes(':') ? `[${info.host}]:${info.port}` : `${info.host}:${info.port}`;
  const state = now < info.validFrom ? '  (NOT VALID YET: check the clocks)' : now > info.validTo ? '  (EXPIRED)' : '';
  const lines = [
    `The certificate of ${where} is not trusted yet${info.caProblem !== undefined ? `: ${info.caProblem}` : ''}.`,
    `  subject:     ${info.subject}`,
    `  issuer:      ${info.selfSigned ? '(self-signed)' : info.issuer}`,
    ...(info.subjectAltName !== '' ? [`  names:       ${info.subjectAltName}`] : []),
    `  valid:       ${when(info.validFrom)} to ${when(info.validTo)}${state}`,
    `  fingerprint: ${info.fingerprint}`,
    `               ${info.fingerprintDisplay}`,
    'Compare the fingerprint with the one `longreach cert create` printed for the server',
    '(or: openssl x509 -in cert.pem -noout -fingerprint -sha256).',
  ];
  return `${lines.join('\n')}\n`;
}

/** Reads an answer: o/once, a/always; n/no/abort or an empty line abort. Anything else: undefined (ask again). */
export function parseTrustAnswer(answer: string): TrustDecision | undefined {
  const word = answer.trim().toLowerCase();
  if (word === 'o' || word === 'once') return 'once';
  if (word === 'a' || word === 'always') return 'always';
  if (word === '' || word === 'n' || word === 'no' || word === 'abort') return 'abort';
  return undefined;
}

/**
 * Shows the certificate and asks "Trust once [o], always [a], or abort [N]?". The end of input (Ctrl-D, a
 * closed pipe) or three answers that are none of these mean abort.
 */
export async function promptTrust(info: CertificateInfo, streams: PromptStreams): Promise<TrustDecision> {
  streams.output.write(describeCertificate(info));
  const question = 'Trust once [o], always [a], or abort [N]? ';
  streams.output.write(question);
  const lines = createInterface({ input: streams.input, terminal: false, crlfDelay: Infinity });
  try {
    let asks = 1;
    for await (const line of lines) {
      const decision = parseTrustAnswer(line);
      if (decision !== undefined) return decision;
      if (asks >= MAX_ASKS) break;
      asks++;
      streams.output.write(`Please answer o (trust once), a (trust always) or n (abort). ${question}`);
    }
    streams.output.write('\n');
    return 'abort';
  } finally {
    lines.close();
  }
}

/**
 * The `decide` to give connect() from a command: a prompt on stderr when stdin and stderr are terminals,
 * else undefined (then an unknown certificate fails with LR_TLS_UNTRUSTED and the fingerprint to pin).
 */
export function trustDecider(io: {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}): TrustDecider | undefined {
  if (io.stdin.isTTY !== true || io.stderr.isTTY !== true) return undefined;
  return (info) => promptTrust(info, { input: io.stdin, output: io.stderr });
}

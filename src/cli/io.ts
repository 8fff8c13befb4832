// What every command gets: its streams and environment, so tests can run commands in-process or as a child.

import { LongreachError } from '../protocol/errors.js';
import { maskSecrets } from '../protocol/qualifier.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export const processIo = (): Io => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });

/** A usage error: exit status 2, with the command's usage line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function printError(io: Io, err: unknown): number {
  if (err instanceof UsageError) {
    io.stderr.write(`longreach: ${maskSecrets(err.message)}\n`);
    return 2;
  }
  if (err instanceof LongreachError) {
    io.stderr.write(`longreach: error [${err.code}]: ${maskSecrets(err.message)}\n`);
    return 1;
  }
  const e = err as Error;
  io.stderr.write(`longreach: internal error: ${maskSecrets(e?.stack ?? String(err))}\n`);
  return 70;
}

/** Colour only on a terminal, and never when NO_COLOR is set. */
export function useColor(io: Io, stream: 'stdout' | 'stderr' = 'stdout'): boolean {
  return io[stream].isTTY === true && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
}

// Where a command's secret comes from. Never from a plain option: `ps` would show it.

import { readFileSync } from 'node:fs';
import { UsageError } from './io.js';

export function readSecret(options: { 'secret-file'?: string | undefined; 'secret-env'?: string | undefined }, env: NodeJS.ProcessEnv): string | undefined {
  const file = options['secret-file'];
  const name = options['secret-env'];
  if (file !== undefined && name !== undefined) throw new UsageError('give --secret-file or --secret-env, not both');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --secret-file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    const secret = text.replace(/\r?\n$/, '');
    if (secret === '') throw new UsageError(`--secret-file ${file} is empty`);
    return secret;
  }
  if (name !== undefined) {
    const secret = env[name];
    if (secret === undefined || secret === '') throw new UsageError(`--secret-env ${name}: that environment variable is not set`);
    return secret;
  }
  return undefined;
}

/** Where readSecret's secret came from, as LR_AUTH_FAILED names it ("check --secret-env LR_SECRET"). */
export function secretSource(options: { 'secret-file'?: string | undefined; 'secret-env'?: string | undefined }): string | undefined {
  if (options['secret-file'] !== undefined) return `the file given to --secret-file (${options['secret-file']})`;
  if (options['secret-env'] !== undefined) return `the environment variable ${options['secret-env']} given to --secret-env`;
  return undefined;
}

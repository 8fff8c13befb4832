import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (tests run from dist/test/..., compiled from test/...). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function readJson<T = any>(relative: string): T {
  return JSON.parse(readFileSync(join(ROOT, relative), 'utf8')) as T;
}

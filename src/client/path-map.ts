// Client paths ↔ agent paths, from `--path-map LOCAL=REMOTE` pairs (sent to the agent as attach `pathMappings`).
// The agent resolves breakpoints itself; the client maps back only to find its local copy of a file.

import { resolve } from 'node:path';
import { LongreachError } from '../protocol/errors.js';

export interface PathMapping {
  localRoot: string;
  remoteRoot: string;
}

/** Parses `LOCAL=REMOTE`; the local side is made absolute. */
export function parsePathMapping(text: string, cwd = process.cwd()): PathMapping {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) {
    throw new LongreachError('LR_BAD_OPTION', `--path-map takes LOCAL=REMOTE (e.g. ./src=/srv/app/src), got ${JSON.stringify(text)}`);
  }
  return { localRoot: resolve(cwd, text.slice(0, eq)), remoteRoot: text.slice(eq + 1) };
}

function under(path: string, root: string): string | null {
  const trimmed = root.replace(/[\\/]+$/, '');
  if (path === trimmed) return '';
  if (path.startsWith(trimmed) && (path[trimmed.length] === '/' || path[trimmed.length] === '\\')) return path.slice(trimmed.length);
  return null;
}

/** The local path for a path the agent reports (unchanged when no mapping applies). */
export function toLocalPath(remote: string, mappings: readonly PathMapping[]): string {
  for (const m of mappings) {
    const rest = under(remote, m.remoteRoot);
    if (rest !== null) return m.localRoot.replace(/[\\/]+$/, '') + rest.replace(/\\/g, '/');
  }
  return remote;
}

/** The agent's path for a local path (unchanged when no mapping applies). */
export function toRemotePath(local: string, mappings: readonly PathMapping[]): string {
  for (const m of mappings) {
    const rest = under(local, m.localRoot);
    if (rest !== null) {
      const sep = m.remoteRoot.includes('\\') && !m.remoteRoot.includes('/') ? '\\' : '/';
      return m.remoteRoot.replace(/[\\/]+$/, '') + rest.replace(/[\\/]/g, sep);
    }
  }
  return local;
}

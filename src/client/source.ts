// Source text for a frame: the local copy when it matches what the agent runs, otherwise the agent's copy
// (DAP `source`). Each file is fetched and compared once per session.

import { readFile } from 'node:fs/promises';
import type { DapSession } from './session.js';
import type { PathMapping } from './path-map.js';

interface FrameSource {
  path: string | null;
  remotePath: string | null;
  sourceReference: number;
}

export interface SourceText {
  lines: string[];
  origin: 'local' | 'remote';
}

export class SourceCache {
  readonly #session: DapSession;
  readonly #cache = new Map<string, Promise<SourceText | null>>();

  constructor(session: DapSession, _mappings: readonly PathMapping[]) {
    this.#session = session;
  }

  get(frame: FrameSource): Promise<SourceText | null> {
    const key = `${frame.sourceReference}:${frame.remotePath ?? ''}`;
    let entry = this.#cache.get(key);
    if (!entry) {
      entry = this.#load(frame).catch(() => null);
      this.#cache.set(key, entry);
    }
    return entry;
  }

  async #load(frame: FrameSource): Promise<SourceText | null> {
    const local = frame.path !== null ? await readFile(frame.path, 'utf8').catch(() => null) : null;
    const remote = await this.#remote(frame);
    if (local !== null && (remote === null || normalise(remote) === normalise(local))) return { lines: splitLines(local), origin: 'local' };
    if (remote !== null) return { lines: splitLines(remote), origin: 'remote' };
    return null;
  }

  async #remote(frame: FrameSource): Promise<string | null> {
    if (frame.sourceReference <= 0 && frame.remotePath === null) return null;
    try {
      const body = await this.#session.request<{ content?: unknown }>('source', {
        source: { ...(frame.remotePath !== null ? { path: frame.remotePath } : {}), sourceReference: frame.sourceReference },
        sourceReference: frame.sourceReference,
      }, { timeoutMs: 5000 });
      return typeof body?.content === 'string' ? body.content : null;
    } catch {
      return null;
    }
  }
}

function normalise(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(/\n+$/, '');
}

export function splitLines(text: string): string[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

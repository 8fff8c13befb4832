// Persistent prompt history: $XDG_CONFIG_HOME/longreach/history (else ~/.config/longreach/history;
// %APPDATA%\longreach\history on Windows), newest last, at most HISTORY_SIZE lines.

import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const HISTORY_SIZE = 1000;

export function historyPath(env: NodeJS.ProcessEnv): string {
  if (env.LONGREACH_HISTORY) return env.LONGREACH_HISTORY;
  const base = env.XDG_CONFIG_HOME || (process.platform === 'win32' && env.APPDATA ? env.APPDATA : join(env.HOME || homedir(), '.config'));
  return join(base, 'longreach', 'history');
}

export class History {
  readonly path: string;
  #broken = false;

  constructor(path: string) {
    this.path = path;
  }

  /** Oldest first. A missing or unreadable file is an empty history. */
  load(): string[] {
    let lines: string[];
    try {
      lines = readFileSync(this.path, 'utf8').split('\n').filter((l) => l.trim() !== '');
    } catch {
      return [];
    }
    if (lines.length > HISTORY_SIZE) {
      lines = lines.slice(-HISTORY_SIZE);
      try {
        writeFileSync(this.path, `${lines.join('\n')}\n`, { mode: 0o600 });
      } catch {
        // keep going with what was read
      }
    }
    return lines;
  }

  add(line: string): void {
    if (this.#broken || line.trim() === '') return;
    try {
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      appendFileSync(this.path, `${line.trim().replace(/\n/g, ' ')}\n`, { mode: 0o600 });
    } catch {
      this.#broken = true; // history is a convenience: never fail a session over it
    }
  }
}

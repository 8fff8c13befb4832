// A real pseudo-terminal for interactive CLI tests: a private tmux server runs the command; tests type keys and
// read the screen.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export class Tmux {
  readonly #socket: string;
  readonly #name = 'lr';

  private constructor(socket: string) {
    this.#socket = socket;
  }

  static start(t: TestContext, command: string[], env: Record<string, string>, cwd: string): Tmux {
    const dir = mkdtempSync(join(tmpdir(), 'lr-tmux-'));
    const tmux = new Tmux(join(dir, 'sock'));
    const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    tmux.#run(['new-session', '-d', '-s', tmux.#name, '-x', '160', '-y', '50', '-c', cwd, 'env', ...envArgs, ...command]);
    tmux.#run(['set-option', '-t', tmux.#name, 'remain-on-exit', 'on']);
    t.after(() => {
      try {
        tmux.#run(['kill-server']);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    });
    return tmux;
  }

  #run(args: string[]): string {
    return execFileSync('tmux', ['-S', this.#socket, ...args], { encoding: 'utf8' });
  }

  /** Types literal text (no Enter). */
  type(text: string): void {
    this.#run(['send-keys', '-t', this.#name, '-l', text]);
  }

  /** Sends named keys: Enter, Tab, C-c, C-d, Up. */
  keys(...keys: string[]): void {
    this.#run(['send-keys', '-t', this.#name, ...keys]);
  }

  screen(): string {
    return this.#run(['capture-pane', '-p', '-t', this.#name, '-S', '-200']);
  }

  /** Waits (bounded) until the screen matches; returns it. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`screen did not match ${pattern} within ${timeoutMs} ms:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Whether the command in the pane has ended. */
  dead(): boolean {
    return this.#run(['display-message', '-p', '-t', this.#name, '#{pane_dead}']).trim() === '1';
  }
}

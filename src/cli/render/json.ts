// `--json`: one JSON object per line for every command result and every event (schema: docs/cli.md).

import type { Sink } from '../repl/controller.js';
import type { CommandReport, EventView } from '../repl/results.js';

/** Bumped only for incompatible changes; new fields may appear without a bump. */
export const JSON_SCHEMA_VERSION = 1;

export class JsonSink implements Sink {
  readonly #write: (text: string) => void;

  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  event(event: EventView): void {
    this.#write(`${JSON.stringify({ type: 'event', ...event })}\n`);
  }

  report(report: CommandReport): void {
    const base = { type: 'result', command: report.command, input: report.input };
    const line = report.error ? { ...base, ok: false, error: report.error } : { ...base, ok: true, result: report.result ?? null };
    this.#write(`${JSON.stringify(line)}\n`);
  }
}

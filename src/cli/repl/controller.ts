// Runs command lines against a Debugger and reports results and events to a sink, in order. The waiting policy
// lives here: resume commands wait for the next stop or the end; in batch mode a command that needs a stopped
// program waits for the next stop; every wait is bounded by the timeout (interactive: until Ctrl-C).

import type { BreakpointInfo, Debugger, DebuggerEvents, OutputEvent, Stop, WaitOutcome } from '../../client/debugger.js';
import { LongreachError } from '../../protocol/errors.js';
import { maskSecrets } from '../../protocol/qualifier.js';
import { findCommand } from './commands.js';
import type { CommandContext } from './context.js';
import type { CommandReport, EventView, Result } from './results.js';
import { breakpointView, Handles, stopView } from './views.js';

export interface Sink {
  /** A command is about to run (batch transcripts echo it here, before the events it causes). */
  begin?(input: string): void;
  event(event: EventView): void;
  report(report: CommandReport): void;
}

export interface ControllerOptions {
  /** Wait bound in ms; null waits without limit (interactive, where Ctrl-C pauses). */
  timeoutMs: number | null;
  /** Batch mode: commands that need a stopped program wait for the next stop instead of failing. */
  waitForStop: boolean;
  /** Asks the person (kill); without a person, the answer is yes. */
  confirm?: (question: string) => Promise<boolean>;
}

const FOREVER = 2_147_483_647;

export class Controller implements CommandContext {
  readonly dbg: Debugger;
  readonly handles = new Handles();
  readonly #sink: Sink;
  readonly #options: ControllerOptions;
  #events: Promise<void> = Promise.resolve();
  #listeners: [keyof DebuggerEvents, (...args: any[]) => void][] = [];
  /** Where the next bare `list` continues (null: around the current line). */
  listNext: number | null = null;

  constructor(dbg: Debugger, sink: Sink, options: ControllerOptions) {
    this.dbg = dbg;
    this.#sink = sink;
    this.#options = options;
    const queue = (make: () => Promise<EventView | null> | EventView | null): void => {
      this.#events = this.#events.then(async () => {
        const view = await make();
        if (view) sink.event(view);
      }).catch(() => undefined);
    };
    let ended = false;
    this.#listeners = [
      ['stopped', (stop: Stop) => {
        this.handles.reset(dbg.stopCount);
        this.listNext = null;
        queue(async () => ({ event: 'stopped', stop: await stopView(dbg, stop) }));
      }],
      ['output', (o: OutputEvent) => queue(() => ({ event: 'output', category: o.category, text: o.text }))],
      ['breakpoint', (b: BreakpointInfo) => queue(() => ({ event: 'breakpoint', breakpoint: breakpointView(b) }))],
      ['exited', ({ exitCode }: { exitCode: number | null }) => {
        ended = true;
        queue(() => ({ event: 'exited', exitCode }));
      }],
      // After the program's end the connection closing is expected: not worth an event of its own.
      ['closed', (err: LongreachError | null) => queue(() => (dbg.exitCode !== null || ended ? null : { event: 'closed', code: err?.code ?? null, message: err ? maskSecrets(err.message) : null }))],
    ];
    for (const [name, fn] of this.#listeners) dbg.on(name, fn as never);
    if (dbg.stop) {
      // A stop that came before this controller (a --break in a program held in wait_for_attach, or a hand-over).
      const stop = dbg.stop;
      this.handles.reset(dbg.stopCount);
      queue(async () => ({ event: 'stopped', stop: await stopView(dbg, stop) }));
    }
  }

  /** Stops reporting this debugger's events (another controller takes over, e.g. the demo's hand-over). */
  dispose(): void {
    for (const [name, fn] of this.#listeners) this.dbg.off(name, fn as never);
    this.#listeners = [];
  }

  /** Resolves once every event so far has been reported. */
  flush(): Promise<void> {
    return this.#events;
  }

  get timeoutMs(): number {
    return this.#options.timeoutMs ?? FOREVER;
  }

  /** Runs one command line; null for blank lines and comments. Never throws: failures are reported. */
  async execute(input: string): Promise<CommandReport | null> {
    const line = input.trim();
    if (line === '' || line.startsWith('#')) return null;
    const space = line.search(/\s/);
    const word = space < 0 ? line : line.slice(0, space);
    const args = space < 0 ? '' : line.slice(space + 1).trim();
    const spec = findCommand(word);
    const report: CommandReport = { command: spec?.name ?? word, input: line };
    await this.flush();
    this.#sink.begin?.(line);
    try {
      if (!spec) throw new LongreachError('LR_BAD_REQUEST', `unknown command ${JSON.stringify(word)}; help lists the commands`);
      if (this.dbg.state === 'closed' && !['help', 'detach'].includes(spec.name)) {
        throw new LongreachError('LR_CLOSED', 'not attached any more');
      }
      if (spec.needsStop && !this.dbg.stop) await this.#awaitStop(spec.name);
      report.result = await spec.run(this, args);
    } catch (err) {
      const e = err instanceof LongreachError ? err : new LongreachError('LR_INTERNAL', String((err as Error)?.message ?? err));
      report.error = { code: e.code, message: maskSecrets(e.message) };
    }
    await this.flush();
    this.#sink.report(report);
    return report;
  }

  async #awaitStop(name: string): Promise<void> {
    if (!this.#options.waitForStop || this.dbg.state !== 'running') {
      const why = this.dbg.state === 'running' ? 'the program is running (pause it first: Ctrl-C or pause)' : this.dbg.state === 'exited' ? 'the program has ended' : 'not attached';
      throw new LongreachError('LR_NOT_STOPPED', `${name} needs a stopped program: ${why}`);
    }
    const outcome = await this.dbg.waitForStop(this.dbg.stopCount, this.timeoutMs);
    if (outcome.kind !== 'stopped') throw new LongreachError('LR_NOT_STOPPED', `${name} needs a stopped program: ${outcome.kind === 'exited' ? 'the program has ended' : 'the connection closed'}`);
    await this.flush();
  }

  /** continue / next / step / finish, then wait for the next stop or the end. */
  async resume(how: 'continue' | 'next' | 'step' | 'finish'): Promise<Result> {
    const before = this.dbg.stopCount;
    if (how === 'continue') await this.dbg.continue();
    else if (how === 'next') await this.dbg.next();
    else if (how === 'step') await this.dbg.stepIn();
    else await this.dbg.stepOut();
    return this.#outcome(how, await this.#wait(before));
  }

  /** Waits for a stop later than the current one, or the end (the `wait` command). */
  async waitForOutcome(how: string): Promise<Result> {
    if (this.dbg.stop) return { kind: 'resumed', how, outcome: 'stopped', exitCode: null };
    return this.#outcome(how, await this.#wait(this.dbg.stopCount));
  }

  async pauseAndWait(): Promise<Result> {
    const before = this.dbg.stopCount;
    await this.dbg.pause();
    return this.#outcome('pause', await this.#wait(before));
  }

  #wait(before: number): Promise<WaitOutcome> {
    return this.dbg.waitForStop(before, this.timeoutMs);
  }

  async #outcome(how: string, outcome: WaitOutcome): Promise<Result> {
    await this.flush();
    return { kind: 'resumed', how, outcome: outcome.kind, exitCode: outcome.kind === 'exited' ? outcome.exitCode : null };
  }

  confirm(question: string): Promise<boolean> {
    return this.#options.confirm ? this.#options.confirm(question) : Promise.resolve(true);
  }
}

// What a command may use: the debugger, the value handles and the waiting policy. The Controller implements it;
// the command table depends only on this, so imports run one way: controller -> commands -> context.

import type { Debugger } from '../../client/debugger.js';
import type { Result } from './results.js';
import type { Handles } from './views.js';

export interface CommandContext {
  readonly dbg: Debugger;
  readonly handles: Handles;
  /** Where the next bare `list` continues (null: around the current line). */
  listNext: number | null;
  /** continue / next / step / finish, then wait for the next stop or the end. */
  resume(how: 'continue' | 'next' | 'step' | 'finish'): Promise<Result>;
  /** Waits for a stop later than the current one, or the end (the `wait` command). */
  waitForOutcome(how: string): Promise<Result>;
  pauseAndWait(): Promise<Result>;
  /** Asks the person (kill); without a person, the answer is yes. */
  confirm(question: string): Promise<boolean>;
}

/** One entry of the command table (commands.ts, data-commands.ts). */
export interface CommandSpec {
  name: string;
  aliases: string[];
  usage: string;
  summary: string;
  /** Needs a stopped program (batch mode waits for the next stop). */
  needsStop: boolean;
  /** Lets the program run (waits for the next stop or the end). */
  resumes?: boolean;
  run(ctx: CommandContext, args: string): Promise<Result>;
}

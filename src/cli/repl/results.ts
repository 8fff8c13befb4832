// What commands produce and what happens on its own: plain data that the text and JSON renderers print.
// The JSON form of these objects is the documented `--json` schema (docs/cli.md); change it only additively.

export interface BreakpointView {
  number: number;
  kind: 'line' | 'function';
  file: string | null;
  line: number | null;
  function: string | null;
  condition: string | null;
  hitCondition: string | null;
  logMessage: string | null;
  temporary: boolean;
  verified: boolean;
  message: string | null;
  hits: number;
}

export interface FrameView {
  index: number;
  function: string;
  file: string | null;
  /** What the source is called when it has no file (`node:internal/timers`, `<string>`). */
  origin: string | null;
  line: number;
  /** The text of the line, when the source is known. */
  source: string | null;
}

export interface ValueView {
  name: string;
  value: string;
  type: string | null;
  /** `$N` to pass to `expand`, when the value has children. */
  handle: string | null;
  /** Number of children, when the server says. */
  length: number | null;
  /** The server's presentationHint.kind (`data` for arrays, tensors and frames; `virtual` for computed children). */
  kind: string | null;
  /** True when the value is computed only on request (`expand` its handle): statistics, a transpose. */
  lazy: boolean;
}

/** `stats`: one row per array (or per numeric column of a DataFrame). */
export interface StatsView {
  title: string;
  type: string;
  columns: { name: string; dtype: string | null; count: number; min: number | null; max: number | null; mean: number | null; std: number | null; nan: number; inf: number }[];
}

export interface StopView {
  reason: string;
  description: string | null;
  thread: { id: number; name: string };
  frame: FrameView | null;
  breakpoints: number[];
  exception: { id: string; description: string | null } | null;
}

export type Result =
  | { kind: 'breakpoint'; action: 'set' | 'deleted'; breakpoint: BreakpointView }
  | { kind: 'breakpoints'; breakpoints: BreakpointView[]; exceptionFilters: string[] }
  | { kind: 'resumed'; how: string; outcome: 'stopped' | 'exited' | 'closed' | 'running'; exitCode: number | null }
  | { kind: 'stop'; stop: StopView }
  | { kind: 'frames'; frames: FrameView[]; current: number; total: number }
  | { kind: 'frame'; frame: FrameView }
  | { kind: 'value'; value: ValueView }
  | { kind: 'table'; title: string; type: string; columns: string[]; index: string[]; rows: string[][]; start: number; totalRows: number; totalColumns: number }
  | ({ kind: 'stats' } & StatsView)
  | { kind: 'variables'; title: string; variables: ValueView[]; start: number; total: number | null }
  | { kind: 'threads'; threads: { id: number; name: string; current: boolean }[] }
  | { kind: 'source'; file: string | null; origin: 'local' | 'remote'; current: number | null; lines: { line: number; text: string }[] }
  | { kind: 'message'; text: string }
  | { kind: 'help'; text: string }
  | { kind: 'detached' }
  | { kind: 'killed' };

export type EventView =
  | { event: 'attached'; target: string; agent: string | null; state: string }
  | { event: 'stopped'; stop: StopView }
  | { event: 'continued' }
  | { event: 'output'; category: string; text: string }
  | { event: 'breakpoint'; breakpoint: BreakpointView }
  | { event: 'exited'; exitCode: number | null }
  | { event: 'closed'; code: string | null; message: string | null };

/** A command's outcome as sinks see it. */
export interface CommandReport {
  /** The command's canonical name (e.g. `print` for `p`). */
  command: string;
  input: string;
  result?: Result;
  error?: { code: string; message: string };
}

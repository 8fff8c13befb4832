// Commands for data values: `table EXPR [ROWS]` (a DataFrame, Series or 1-/2-D array window as an aligned table)
// and `stats EXPR` (statistics computed in the program, where the data lives). Registered in commands.ts.

import { LongreachError } from '../../protocol/errors.js';
import { statistics, tableWindow, type Statistics } from '../../client/data-values.js';
import type { CommandSpec } from './context.js';
import type { Result, StatsView } from './results.js';

const bad = (message: string): never => {
  throw new LongreachError('LR_BAD_REQUEST', message);
};

/** Longest time a table or statistics request may take: the agent's prompt budget (10 s by default) and some. */
const DATA_TIMEOUT_MS = 60_000;
const MAX_ROWS = 1000;

/** `EXPR`, `EXPR ROWS` or `EXPR START:ROWS` (`df`, `df 50`, `df 2000000:100`). */
export function parseTableArgs(args: string): { expression: string; start: number; rows: number } {
  const text = args.trim();
  if (text === '') return bad('usage: table EXPRESSION [ROWS | START:ROWS]');
  const m = /^(.*?)\s+(?:(\d+):)?(\d+)$/.exec(text);
  if (!m) return { expression: text, start: 0, rows: 20 };
  const rows = Number(m[3]);
  const start = m[2] !== undefined ? Number(m[2]) : 0;
  if (rows < 1 || rows > MAX_ROWS) return bad(`ROWS must be from 1 to ${MAX_ROWS}, got ${rows}`);
  if (!Number.isSafeInteger(start)) return bad(`START must be a row number, got ${m[2]}`);
  return { expression: m[1]!, start, rows };
}

async function table(ctx: Parameters<CommandSpec['run']>[0], args: string): Promise<Result> {
  const { expression, start, rows } = parseTableArgs(args);
  const w = await tableWindow(ctx.dbg, expression, { start, rows, columns: 20 }, DATA_TIMEOUT_MS);
  return { kind: 'table', title: expression, type: w.type, columns: w.columns, index: w.index, rows: w.rows, start: w.start, totalRows: w.totalRows, totalColumns: w.totalColumns };
}

async function stats(ctx: Parameters<CommandSpec['run']>[0], args: string): Promise<Result> {
  const expression = args.trim();
  if (expression === '') return bad('usage: stats EXPRESSION');
  const body = await statistics(ctx.dbg, expression, DATA_TIMEOUT_MS);
  const s = body.statistics;
  const columns: StatsView['columns'] = 'columns' in s ? Object.entries(s.columns).map(([name, c]) => ({ name, ...statsRow(c) })) : [{ name: expression, ...statsRow(s) }];
  return { kind: 'stats', title: expression, type: body.type, columns };
}

function statsRow(s: Statistics): Omit<StatsView['columns'][number], 'name'> {
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : null);
  return {
    dtype: typeof s.dtype === 'string' ? s.dtype : null,
    count: num(s.count) ?? 0,
    min: num(s.min),
    max: num(s.max),
    mean: num(s.mean),
    std: num(s.std),
    nan: num(s.nan) ?? 0,
    inf: num(s.inf) ?? 0,
  };
}

export const DATA_COMMANDS: CommandSpec[] = [
  { name: 'table', aliases: [], usage: 'table EXPRESSION [ROWS | START:ROWS]', summary: 'show rows of a DataFrame, Series or 1-/2-D array as a table (20 rows, 20 columns by default)', needsStop: true, run: table },
  { name: 'stats', aliases: [], usage: 'stats EXPRESSION', summary: 'min, max, mean, std, nan and inf counts of an array, tensor, Series or DataFrame, computed in the program', needsStop: true, run: stats },
];

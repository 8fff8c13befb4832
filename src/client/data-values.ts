// Longreach's data-value requests (beside DAP's): a row window of a DataFrame / Series / array as text cells
// (`longreach/table`) and statistics computed where the data lives (`longreach/stats`). The Python agent offers
// them and lists them in its `longreachDataRequests` capability; other servers get a clear LR_UNSUPPORTED.

import { LongreachError } from '../protocol/errors.js';
import type { Debugger } from './debugger.js';

export interface TableWindow {
  /** Column labels (`""` for the one column of a 1-D array). */
  columns: string[];
  /** Row labels (the DataFrame's index; positions for arrays). */
  index: string[];
  /** Cells as text, row by row. */
  rows: string[][];
  start: number;
  totalRows: number;
  totalColumns: number;
  type: string;
}

export interface Statistics {
  dtype?: string;
  count?: number;
  finite?: number;
  min?: number | boolean | null;
  max?: number | boolean | null;
  mean?: number | null;
  std?: number | null;
  nan?: number;
  inf?: number;
}

export type StatisticsResult = { type: string; statistics: Statistics | { columns: Record<string, Statistics> } };

function requireRequest(dbg: Debugger, command: string, what: string): number {
  const offered = (dbg.capabilities as Record<string, unknown>).longreachDataRequests;
  if (!Array.isArray(offered) || !offered.includes(command)) {
    throw new LongreachError('LR_UNSUPPORTED', `this server cannot show ${what} (the Python agent can: it offers the ${command} request)`);
  }
  const frame = dbg.frame;
  if (!frame) throw new LongreachError('LR_NOT_STOPPED', `${what} needs a stopped program`);
  return frame.id;
}

/** Rows start..start+rows-1 (and the first `columns` columns) of EXPRESSION's value in the current frame. */
export async function tableWindow(dbg: Debugger, expression: string, options: { start?: number; rows?: number; columns?: number } = {}, timeoutMs?: number): Promise<TableWindow> {
  const frameId = requireRequest(dbg, 'longreach/table', 'tables');
  return dbg.session.request<TableWindow>('longreach/table', { expression, frameId, ...options }, timeoutMs ? { timeoutMs } : {});
}

/** min, max, mean, std, nan and inf counts of EXPRESSION's value (per numeric column for a DataFrame). */
export async function statistics(dbg: Debugger, expression: string, timeoutMs?: number): Promise<StatisticsResult> {
  const frameId = requireRequest(dbg, 'longreach/stats', 'statistics');
  return dbg.session.request<StatisticsResult>('longreach/stats', { expression, frameId }, timeoutMs ? { timeoutMs } : {});
}

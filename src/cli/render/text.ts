// Human-readable rendering of results and events, in the spirit of pdb/gdb. A stop shows the reason, thread,
// file:line, function and the source line; the program's own output is marked line by line.

import type { Sink } from '../repl/controller.js';
import type { BreakpointView, CommandReport, EventView, FrameView, Result, StopView, ValueView } from '../repl/results.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
export const COLOR: Style = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39) };
export const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s };

const OUTPUT_LABELS: Record<string, string> = { stdout: 'program', stderr: 'program:err', console: 'agent', important: 'agent' };

export class TextSink implements Sink {
  readonly #write: (text: string) => void;
  readonly #style: Style;
  readonly #echo: boolean;
  readonly #partial = new Map<string, string>();

  /** `echo`: print each command after a prompt (batch transcripts). */
  constructor(write: (text: string) => void, style: Style, { echo = false } = {}) {
    this.#write = write;
    this.#style = style;
    this.#echo = echo;
  }

  event(event: EventView): void {
    if (event.event === 'output') return this.#output(event.category, event.text);
    this.flushOutput();
    const text = renderEvent(event, this.#style);
    if (text !== '') this.#write(text);
  }

  begin(input: string): void {
    this.flushOutput();
    if (this.#echo) this.#write(`${this.#style.bold('(longreach)')} ${input}\n`);
  }

  report(report: CommandReport): void {
    this.flushOutput();
    let text = '';
    if (report.error) text += `${this.#style.red(`error [${report.error.code}]`)}: ${report.error.message}\n`;
    else if (report.result) text += renderResult(report.result, this.#style);
    if (text !== '') this.#write(text);
  }

  /** Writes a partial line of program output that is still waiting for its newline. */
  flushOutput(): void {
    for (const [category, rest] of this.#partial) if (rest !== '') this.#write(this.#line(category, rest));
    this.#partial.clear();
  }

  #output(category: string, text: string): void {
    const lines = ((this.#partial.get(category) ?? '') + text).split('\n');
    this.#partial.set(category, lines.pop() ?? '');
    if (lines.length > 0) this.#write(lines.map((l) => this.#line(category, l)).join(''));
  }

  #line(category: string, text: string): string {
    const label = OUTPUT_LABELS[category] ?? category;
    return `${this.#style.dim(`[${label}]`)} ${text.replace(/\r$/, '')}\n`;
  }
}

function where(f: { file: string | null; origin?: string | null; line: number | null }): string {
  const name = f.file ?? f.origin ?? null;
  return name === null ? '<unknown source>' : `${name}:${f.line ?? '?'}`;
}

export function renderStop(stop: StopView, style: Style): string {
  let why: string;
  if (stop.reason === 'breakpoint' && stop.breakpoints.length > 0) why = `at breakpoint ${stop.breakpoints.join(', ')}`;
  else if (stop.reason === 'exception') why = `on exception ${stop.exception ? `${stop.exception.id}${stop.exception.description ? `: ${stop.exception.description}` : ''}` : (stop.description ?? '')}`;
  else if (stop.reason === 'step') why = 'after a step';
  else if (stop.reason === 'pause') why = 'paused';
  else why = stop.reason === 'breakpoint' ? 'at a breakpoint' : `(${stop.reason})`;
  let text = `${style.bold(`Stopped ${why}`)} in thread ${stop.thread.name} (${stop.thread.id})\n`;
  if (stop.frame) text += renderFrameLine(stop.frame, style);
  return text;
}

function renderFrameLine(f: FrameView, style: Style): string {
  let text = `> ${style.bold(where(f))} in ${f.function}()\n`;
  if (f.source !== null) text += `-> ${f.source}\n`;
  return text;
}

export function renderEvent(event: EventView, style: Style): string {
  switch (event.event) {
    case 'attached':
      return `Attached to ${event.target}${event.agent ? ` (${event.agent})` : ''}; the program is ${event.state}.\n`;
    case 'stopped':
      return renderStop(event.stop, style);
    case 'continued':
      return '';
    case 'output':
      return event.text;
    case 'breakpoint': {
      const b = event.breakpoint;
      return b.verified ? `Breakpoint ${b.number} is now verified at ${where(b)}\n` : `Breakpoint ${b.number} is not verified: ${b.message ?? 'no reason given'}\n`;
    }
    case 'exited':
      return `${style.bold('The program exited')}${event.exitCode === null ? '' : ` with code ${event.exitCode}`}.\n`;
    case 'closed':
      return `The connection closed${event.message ? `: ${event.message}` : ''}.\n`;
  }
}

function breakpointLine(b: BreakpointView): string {
  const place = b.kind === 'function' ? `function ${b.function}` : where(b);
  const kind = b.logMessage !== null ? 'Logpoint' : b.temporary ? 'Temporary breakpoint' : 'Breakpoint';
  let text = `${kind} ${b.number} at ${place}`;
  if (b.condition !== null) text += ` if ${b.condition}`;
  if (b.logMessage !== null) text += `: ${b.logMessage}`;
  if (!b.verified) text += ` (not verified yet${b.message ? `: ${b.message}` : ''})`;
  return text;
}

function renderDataTable(t: Extract<Result, { kind: 'table' }>, style: Style): string {
  if (t.rows.length === 0) return `${t.title}: no rows at ${t.start} (it has ${t.totalRows.toLocaleString('en-US')})\n`;
  const header = ['', ...t.columns];
  const body = t.rows.map((cells, i) => [t.index[i] ?? String(t.start + i), ...cells]);
  const end = t.start + t.rows.length;
  const more = t.totalColumns > t.columns.length ? `, ${t.columns.length} of ${t.totalColumns} columns` : '';
  const note = style.dim(`${t.type}: rows ${t.start}-${end - 1} of ${t.totalRows.toLocaleString('en-US')}${more}`);
  return `${renderAlignedTable(header, body)}${note}\n`;
}

/** Every column padded to its widest cell; numbers right-aligned. */
function renderAlignedTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => i > 0 && rows.every((r) => /^[-+]?(\d|nan|inf)/i.test(r[i] ?? '')));
  const line = (cells: string[]): string => cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function renderStats(s: Extract<Result, { kind: 'stats' }>): string {
  const num = (x: number | null): string => (x === null ? '-' : Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+(e|$)/, '$1'));
  const header = ['', 'dtype', 'count', 'min', 'max', 'mean', 'std', 'nan', 'inf'];
  const rows = s.columns.map((c) => [c.name, c.dtype ?? '', String(c.count), num(c.min), num(c.max), num(c.mean), num(c.std), String(c.nan), String(c.inf)]);
  return `${s.type}\n${renderAlignedTable(header, rows)}`;
}

function value(v: ValueView, style: Style): string {
  const extra = [v.type, v.length !== null ? `${v.length} items` : null, v.handle ? `expand: x ${v.handle}` : null].filter(Boolean);
  return `${v.value}${extra.length > 0 ? style.dim(`  (${extra.join(', ')})`) : ''}`;
}

export function renderResult(result: Result, style: Style): string {
  switch (result.kind) {
    case 'breakpoint':
      return result.action === 'set' ? `${breakpointLine(result.breakpoint)}\n` : `Deleted breakpoint ${result.breakpoint.number}\n`;
    case 'breakpoints': {
      const lines = result.breakpoints.map((b) => `${breakpointLine(b)}${b.hits > 0 ? `, hit ${b.hits} time${b.hits === 1 ? '' : 's'}` : ''}`);
      if (lines.length === 0) lines.push('No breakpoints.');
      lines.push(`Exceptions: ${result.exceptionFilters.length > 0 ? `stopping on ${result.exceptionFilters.join(', ')}` : 'not stopping'}`);
      return `${lines.join('\n')}\n`;
    }
    case 'resumed':
      return result.outcome === 'running' ? 'The program is running.\n' : '';
    case 'stop':
      return renderStop(result.stop, style);
    case 'frames': {
      const lines = result.frames.map((f) => `${f.index === result.current ? '*' : ' '} #${f.index}  ${f.function}() at ${where(f)}`);
      if (result.total > result.frames.length) lines.push(`  (${result.total - result.frames.length} more frames)`);
      return `${lines.join('\n')}\n`;
    }
    case 'frame':
      return `#${result.frame.index}  ${renderFrameLine(result.frame, style)}`;
    case 'value':
      return `${value(result.value, style)}\n`;
    case 'table':
      return renderDataTable(result, style);
    case 'stats':
      return renderStats(result);
    case 'variables': {
      if (result.variables.length === 0) return `(no ${result.title === 'locals' || result.title === 'globals' ? result.title : 'items'})\n`;
      return `${result.variables.map((v) => `${v.name} = ${value(v, style)}`).join('\n')}\n`;
    }
    case 'threads':
      return `${result.threads.map((t) => `${t.current ? '*' : ' '} ${t.id}  ${t.name}`).join('\n')}\n`;
    case 'source': {
      const width = String(result.lines[result.lines.length - 1]?.line ?? 0).length;
      const head = result.origin === 'remote' ? style.dim(`(source from the remote program: ${result.file ?? 'no local copy'})\n`) : '';
      return head + result.lines.map((l) => `${String(l.line).padStart(width)} ${l.line === result.current ? '->' : '  '} ${l.text}`).join('\n') + '\n';
    }
    case 'message':
    case 'help':
      return `${result.text}\n`;
    case 'detached':
      return 'Detached; the program keeps running.\n';
    case 'killed':
      return 'The program was ended.\n';
  }
}

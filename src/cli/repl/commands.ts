// The debugger commands shared by the interactive prompt and batch mode: one table, each entry parsing its
// arguments and returning a Result (or throwing a LongreachError). Waiting policy lives in the Controller, which
// commands see only as a CommandContext (context.ts), so the controller imports this table and not the reverse.

import { threadProcess } from '../../client/frames.js';
import { LongreachError } from '../../protocol/errors.js';
import type { CommandContext, CommandSpec } from './context.js';
import type { Result } from './results.js';
import { breakpointView, frameView, showPath, valueView } from './views.js';
import { DATA_COMMANDS } from './data-commands.js';

export type { CommandSpec } from './context.js';

const bad = (message: string): never => {
  throw new LongreachError('LR_BAD_REQUEST', message);
};

/** `FILE:LINE`, `LINE` (in the current file) or `FUNCTION`. */
export function parseLocation(text: string, currentFile: string | null): { file: string; line: number } | { name: string } {
  if (/^\d+$/.test(text)) {
    if (currentFile === null) return bad(`line ${text} of which file? write FILE:${text}`);
    return { file: currentFile, line: Number(text) };
  }
  const m = /^(.+):(\d+)$/.exec(text);
  if (m) return { file: m[1]!, line: Number(m[2]) };
  if (/^[A-Za-z_][\w.]*$/.test(text)) return { name: text };
  return bad(`expected FILE:LINE, LINE or FUNCTION, got ${JSON.stringify(text)}`);
}

/** `--break FILE:LINE[:COND]` from the command line. */
export function parseBreakOption(text: string): { file: string; line: number; condition?: string } {
  const m = /^(.+?):(\d+)(?::(.+))?$/.exec(text);
  if (!m) throw new LongreachError('LR_BAD_OPTION', `--break takes FILE:LINE or FILE:LINE:CONDITION, got ${JSON.stringify(text)}`);
  return { file: m[1]!, line: Number(m[2]), ...(m[3] ? { condition: m[3] } : {}) };
}

async function setBreak(ctx: CommandContext, args: string, temporary: boolean): Promise<Result> {
  const m = /^(\S+)(?:\s+if\s+(.+))?$/.exec(args.trim());
  if (!m) return bad(`usage: ${temporary ? 'tbreak' : 'break'} FILE:LINE [if CONDITION]`);
  const where = parseLocation(m[1]!, ctx.dbg.frame?.path ?? null);
  const condition = m[2]?.trim();
  const info =
    'name' in where
      ? await ctx.dbg.setFunctionBreakpoint(where.name, condition)
      : await ctx.dbg.setBreakpoint({ file: where.file, line: where.line, temporary, ...(condition ? { condition } : {}) });
  return { kind: 'breakpoint', action: 'set', breakpoint: breakpointView(info) };
}

async function resume(ctx: CommandContext, how: 'continue' | 'next' | 'step' | 'finish'): Promise<Result> {
  return ctx.resume(how);
}

function count(args: string, fallback: number): number {
  if (args.trim() === '') return fallback;
  const n = Number(args.trim());
  if (!Number.isInteger(n) || n < 0) return bad(`expected a number, got ${JSON.stringify(args.trim())}`);
  return n;
}

async function moveFrame(ctx: CommandContext, delta: number): Promise<Result> {
  const frame = await ctx.dbg.selectFrame(ctx.dbg.frameIndex + delta).catch(() => {
    return bad(delta < 0 ? 'already at the innermost frame' : 'already at the outermost frame');
  });
  return { kind: 'frame', frame: await frameView(ctx.dbg, frame) };
}

async function list(ctx: CommandContext, args: string): Promise<Result> {
  const frame = ctx.dbg.frame;
  if (!frame) return bad('list needs a stopped program');
  let center = ctx.listNext ?? frame.line;
  if (args.trim() !== '') center = count(args, frame.line);
  const source = await ctx.dbg.source(frame);
  if (!source) return bad(`no source for ${showPath(frame.path) ?? frame.name}: no local copy and the server sent none`);
  const first = Math.max(1, center - 5);
  const last = Math.min(source.lines.length, first + 10);
  ctx.listNext = last + 6;
  const lines = [];
  for (let n = first; n <= last; n++) lines.push({ line: n, text: source.lines[n - 1] ?? '' });
  return { kind: 'source', file: showPath(frame.path), origin: source.origin, current: frame.line, lines };
}

async function expand(ctx: CommandContext, args: string): Promise<Result> {
  const parts = args.trim().split(/\s+/);
  const m = /^(.*?)(?:\s+(\d+))?(?:\s+(\d+))?$/.exec(args.trim());
  if (!m || parts[0] === '') return bad('usage: expand $N|EXPRESSION [START [COUNT]]');
  const target = m[1]!;
  const start = m[2] !== undefined ? Number(m[2]) : undefined;
  const size = m[3] !== undefined ? Number(m[3]) : start !== undefined ? 50 : undefined;
  let ref: number | undefined;
  let total: number | null = null;
  if (/^\$\d+$/.test(target)) {
    ref = ctx.handles.get(target);
    if (ref === undefined) return bad(`no value ${target} at this stop (values from before the program ran again are gone)`);
  } else {
    const v = await ctx.dbg.evaluate(target, 'watch');
    ref = v.ref;
    total = v.indexed ?? null;
    if (ref <= 0) return bad(`${target} = ${v.value} has nothing to expand`);
  }
  const vars = await ctx.dbg.variables(ref, start, size);
  return { kind: 'variables', title: target, variables: vars.map((v) => valueView(v, ctx.handles)), start: start ?? 0, total };
}

export const COMMANDS: CommandSpec[] = [
  { name: 'break', aliases: ['b'], usage: 'break FILE:LINE [if CONDITION] | break LINE | break FUNCTION', summary: 'set a breakpoint (with a condition after "if")', needsStop: false, run: (ctx, a) => setBreak(ctx, a, false) },
  { name: 'tbreak', aliases: [], usage: 'tbreak FILE:LINE [if CONDITION]', summary: 'set a breakpoint that is deleted when first hit', needsStop: false, run: (ctx, a) => setBreak(ctx, a, true) },
  {
    name: 'logpoint', aliases: [], usage: 'logpoint FILE:LINE MESSAGE', summary: 'log MESSAGE ({expr} is interpolated) instead of stopping', needsStop: false,
    async run(ctx, args) {
      const m = /^(\S+)\s+(.+)$/.exec(args.trim());
      if (!m) return bad('usage: logpoint FILE:LINE MESSAGE');
      const where = parseLocation(m[1]!, ctx.dbg.frame?.path ?? null);
      if ('name' in where) return bad('a logpoint needs FILE:LINE');
      const info = await ctx.dbg.setBreakpoint({ file: where.file, line: where.line, logMessage: m[2]! });
      return { kind: 'breakpoint', action: 'set', breakpoint: breakpointView(info) };
    },
  },
  {
    name: 'delete', aliases: ['d'], usage: 'delete N', summary: 'delete breakpoint number N', needsStop: false,
    async run(ctx, args) {
      const n = Number(args.trim());
      if (args.trim() === '' || !Number.isInteger(n)) return bad('usage: delete N (info breakpoints shows the numbers)');
      return { kind: 'breakpoint', action: 'deleted', breakpoint: breakpointView(await ctx.dbg.deleteBreakpoint(n)) };
    },
  },
  {
    name: 'info', aliases: [], usage: 'info breakpoints', summary: 'list breakpoints and exception catching', needsStop: false,
    async run(ctx, args) {
      if (!/^(breakpoints|break|b)$/.test(args.trim())) return bad('usage: info breakpoints');
      return { kind: 'breakpoints', breakpoints: ctx.dbg.breakpoints().map(breakpointView), exceptionFilters: [...ctx.dbg.exceptionFilters] };
    },
  },
  { name: 'continue', aliases: ['c', 'cont'], usage: 'continue', summary: 'run until the next breakpoint or the end', needsStop: true, resumes: true, run: (ctx) => resume(ctx, 'continue') },
  { name: 'next', aliases: ['n'], usage: 'next', summary: 'run to the next line in this function (step over calls)', needsStop: true, resumes: true, run: (ctx) => resume(ctx, 'next') },
  { name: 'step', aliases: ['s'], usage: 'step', summary: 'step into the call on this line', needsStop: true, resumes: true, run: (ctx) => resume(ctx, 'step') },
  { name: 'finish', aliases: [], usage: 'finish', summary: 'run until the current function returns', needsStop: true, resumes: true, run: (ctx) => resume(ctx, 'finish') },
  {
    name: 'pause', aliases: [], usage: 'pause', summary: 'stop the running program (Ctrl-C does the same)', needsStop: false,
    async run(ctx) {
      if (ctx.dbg.stop) return { kind: 'message', text: 'the program is already stopped' };
      return ctx.pauseAndWait();
    },
  },
  {
    name: 'wait', aliases: [], usage: 'wait', summary: 'wait for the program to stop or end (batch mode)', needsStop: false,
    async run(ctx) {
      return ctx.waitForOutcome('wait');
    },
  },
  {
    name: 'backtrace', aliases: ['bt', 'where'], usage: 'backtrace [N]', summary: 'show the call stack (innermost first)', needsStop: true,
    async run(ctx, args) {
      const frames = await ctx.dbg.backtrace(count(args, 1000));
      return { kind: 'frames', frames: await Promise.all(frames.map((f) => frameView(ctx.dbg, f))), current: ctx.dbg.frameIndex, total: ctx.dbg.stop?.totalFrames ?? frames.length };
    },
  },
  {
    name: 'frame', aliases: ['f'], usage: 'frame [N]', summary: 'select frame N (0 is innermost) or show the current one', needsStop: true,
    async run(ctx, args) {
      const frame = args.trim() === '' ? ctx.dbg.frame! : await ctx.dbg.selectFrame(count(args, 0));
      ctx.listNext = null;
      return { kind: 'frame', frame: await frameView(ctx.dbg, frame) };
    },
  },
  { name: 'up', aliases: [], usage: 'up [N]', summary: 'select the caller (N frames out)', needsStop: true, run: (ctx, a) => ((ctx.listNext = null), moveFrame(ctx, count(a, 1))) },
  { name: 'down', aliases: [], usage: 'down [N]', summary: 'select the callee (N frames in)', needsStop: true, run: (ctx, a) => ((ctx.listNext = null), moveFrame(ctx, -count(a, 1))) },
  { name: 'list', aliases: ['l'], usage: 'list [LINE]', summary: 'show source around the current line (again: the next lines)', needsStop: true, run: list },
  {
    name: 'print', aliases: ['p'], usage: 'print EXPRESSION', summary: 'evaluate an expression in the current frame', needsStop: true,
    async run(ctx, args) {
      if (args.trim() === '') return bad('usage: print EXPRESSION');
      return { kind: 'value', value: valueView(await ctx.dbg.evaluate(args.trim(), 'repl'), ctx.handles) };
    },
  },
  {
    name: 'locals', aliases: [], usage: 'locals', summary: "show the current frame's local variables", needsStop: true,
    async run(ctx) {
      return { kind: 'variables', title: 'locals', variables: (await ctx.dbg.scopeVariables('local')).map((v) => valueView(v, ctx.handles)), start: 0, total: null };
    },
  },
  {
    name: 'globals', aliases: [], usage: 'globals', summary: "show the current frame's global variables", needsStop: true,
    async run(ctx) {
      return { kind: 'variables', title: 'globals', variables: (await ctx.dbg.scopeVariables('global')).map((v) => valueView(v, ctx.handles)), start: 0, total: null };
    },
  },
  { name: 'expand', aliases: ['x'], usage: 'expand $N|EXPRESSION [START [COUNT]]', summary: 'show the items or attributes of a value, a page at a time', needsStop: true, run: expand },
  ...DATA_COMMANDS,
  {
    name: 'set', aliases: [], usage: 'set VARIABLE = EXPRESSION', summary: 'change a variable in the current frame', needsStop: true,
    async run(ctx, args) {
      const m = /^([^=]+?)\s*=(?!=)\s*(.+)$/.exec(args.trim());
      if (!m) return bad('usage: set VARIABLE = EXPRESSION');
      return { kind: 'value', value: valueView(await ctx.dbg.assign(m[1]!.trim(), m[2]!), ctx.handles) };
    },
  },
  {
    name: 'threads', aliases: [], usage: 'threads', summary: 'list the threads', needsStop: false,
    async run(ctx) {
      const current = ctx.dbg.stop?.threadId;
      return { kind: 'threads', threads: (await ctx.dbg.threads()).map((t) => ({ ...t, current: t.id === current })) };
    },
  },
  {
    name: 'thread', aliases: [], usage: 'thread N', summary: 'make thread N current (threads lists them)', needsStop: true,
    async run(ctx, args) {
      if (args.trim() === '') return bad('usage: thread N');
      const stop = await ctx.dbg.selectThread(count(args, 0));
      const top = stop.frames[0];
      ctx.listNext = null;
      if (!top) return { kind: 'message', text: `thread ${stop.threadId} (${stop.threadName}) has no frames` };
      return { kind: 'frame', frame: await frameView(ctx.dbg, top) };
    },
  },
  {
    name: 'processes', aliases: [], usage: 'processes', summary: 'the processes of a job: each one running, or where it is stopped', needsStop: false,
    async run(ctx) {
      return { kind: 'message', text: await processesText(ctx) };
    },
  },
  {
    name: 'process', aliases: [], usage: 'process PID', summary: 'make a stopped process of the job current (processes lists them)', needsStop: true,
    async run(ctx, args) {
      if (args.trim() === '') return bad('usage: process PID (processes lists them)');
      const pid = count(args, 0);
      const stopped = [ctx.dbg.stop!.threadId, ...ctx.dbg.queuedStops.map((q) => q.threadId)];
      const threads = (await ctx.dbg.threads()).filter((t) => threadProcess(t.name)?.pid === pid);
      if (threads.length === 0) return bad(`no process ${pid} in this session (processes lists them)`);
      const target = threads.find((t) => stopped.includes(t.id));
      if (!target) throw new LongreachError('LR_NOT_STOPPED', `process ${pid} is running; it becomes selectable when it stops (a breakpoint, or pause with thread ${threads[0]!.id} current)`);
      const stop = await ctx.dbg.selectThread(target.id);
      ctx.listNext = null;
      const top = stop.frames[0];
      if (!top) return { kind: 'message', text: `process ${pid} has no frames` };
      return { kind: 'frame', frame: await frameView(ctx.dbg, top) };
    },
  },
  {
    name: 'catch', aliases: [], usage: 'catch raised|uncaught|off', summary: 'stop when exceptions are raised, only when uncaught, or never', needsStop: false,
    async run(ctx, args) {
      const words = args.trim().split(/[\s,]+/).filter(Boolean);
      if (words.length === 0) return bad('usage: catch raised|uncaught|off');
      const filters = words.includes('off') ? [] : words;
      await ctx.dbg.setExceptionFilters(filters);
      return { kind: 'message', text: filters.length === 0 ? 'exceptions: not stopping' : `exceptions: stopping on ${filters.join(', ')}` };
    },
  },
  {
    name: 'detach', aliases: ['quit', 'q'], usage: 'detach', summary: 'leave; the program keeps running', needsStop: false,
    async run(ctx) {
      await ctx.dbg.detach();
      return { kind: 'detached' };
    },
  },
  {
    name: 'kill', aliases: [], usage: 'kill', summary: 'end the program (asks first on a terminal)', needsStop: false,
    async run(ctx) {
      if (!(await ctx.confirm('End the program?'))) return { kind: 'message', text: 'not killed' };
      await ctx.dbg.kill();
      return { kind: 'killed' };
    },
  },
  {
    name: 'help', aliases: ['h', '?'], usage: 'help [COMMAND]', summary: 'show the commands, or one command in detail', needsStop: false,
    async run(_ctx, args) {
      return { kind: 'help', text: helpText(args.trim()) };
    },
  },
];

export function findCommand(word: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === word || c.aliases.includes(word));
}

export function commandWords(): string[] {
  return COMMANDS.flatMap((c) => [c.name, ...c.aliases.filter((a) => a.length > 1)]).concat(['info breakpoints']);
}

export function helpText(topic: string): string {
  if (topic !== '') {
    const c = findCommand(topic);
    if (!c) return bad(`no command ${JSON.stringify(topic)}; help lists them`);
    const aka = c.aliases.length > 0 ? ` (also: ${c.aliases.join(', ')})` : '';
    return `usage: ${c.usage}${aka}\n  ${c.summary}${c.needsStop ? '\n  needs a stopped program' : ''}`;
  }
  const rows = COMMANDS.map((c) => `  ${[c.name, ...c.aliases].join(', ').padEnd(22)} ${c.summary}`);
  return `commands:\n${rows.join('\n')}\nhelp COMMAND shows its usage.`;
}


async function processesText(ctx: CommandContext): Promise<string> {
  const threads = await ctx.dbg.threads();
  const current = ctx.dbg.stop?.threadId;
  const queued = new Set(ctx.dbg.queuedStops.map((q) => q.threadId));
  const rows = new Map<number, { label: string; state: string }>();
  for (const t of threads) {
    const p = threadProcess(t.name);
    if (!p) continue;
    const row = rows.get(p.pid) ?? { label: p.label, state: 'running' };
    if (t.id === current) row.state = `stopped in thread ${t.id} (current)`;
    else if (queued.has(t.id) && !row.state.endsWith('(current)')) row.state = `stopped in thread ${t.id} (waiting)`;
    rows.set(p.pid, row);
  }
  if (rows.size === 0) return 'one process (not a job): see threads';
  return [...rows.entries()].map(([pid, r]) => `${String(pid).padEnd(8)} ${(r.label || '-').padEnd(22)} ${r.state}`).join('\n');
}

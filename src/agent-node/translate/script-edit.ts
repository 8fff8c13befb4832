// Breakpoint conditions compiled into the script: the pure text side of worker/script-edits.ts. A conditional
// breakpoint or log point becomes one statement inserted on its own line, in front of the statement that starts
// the line, so no other line and no column before it moves:
//   try { if (<condition>) { if (<agent>.stop(tag) !== false) debugger; } }
//   catch ($lr_e) { <report the error>; let $lr_s; try { $lr_s = <agent>.stop(tag); } catch {} if ($lr_s !== false) debugger; }
// V8 then runs the condition as ordinary code (no debug-evaluate per hit). The insertion point is checked here by
// reading the text around it (a statement must start there); V8 checks the rest after the edit.

import { reportConditionError } from './conditions.js';

/** One inserted statement: `text` goes in front of column `column` (0-based UTF-16) of line `line` (0-based). */
export interface Insert {
  line: number;
  column: number;
  text: string;
}

/**
 * The statement for a V8 breakpoint condition (built by buildCondition; never empty); `tag` marks its log text and
 * names the breakpoint to the agent's stop helper, which switches V8's debugger on (the agent keeps it off while every
 * breakpoint is compiled in: worker/session.ts) before the `debugger` statement runs, and answers false when the tag
 * names no live breakpoint: an insert left behind by an earlier session (its detach could not take it out) never
 * stops the next one, even where that session has V8's debugger on.
 */
export function guardStatement(condition: string, agentGlobal: string, tag = ''): string {
  const report = reportConditionError(agentGlobal, tag, '$lr_e');
  // (optional calls: where no helper is installed, as in a worker thread, the `debugger` statement still stops when a
  // debugger is on; after an error, a helper that throws too is taken as a yes)
  const stop = `globalThis[Symbol.for(${JSON.stringify(agentGlobal)})]?.stop?.(${JSON.stringify(tag)})`;
  return `try { if (${condition}) { if (${stop} !== false) debugger; } } catch ($lr_e) { ${report} let $lr_s; try { $lr_s = ${stop}; } catch {} if ($lr_s !== false) debugger; } `;
}

/** Words after which a new line may continue the same statement (or be the body of the one before). */
const CONTINUING_WORDS = new Set([
  'else', 'do', 'await', 'typeof', 'void', 'delete', 'new', 'in', 'of', 'instanceof', 'case', 'return', 'throw', 'yield',
  'extends', 'var', 'let', 'const', 'async', 'get', 'set', 'static', 'function', 'class', 'import', 'export', 'from', 'as',
]);
/** Words that never start a statement of their own on a line. */
const NOT_A_START = new Set(['else', 'catch', 'finally', 'in', 'of', 'instanceof', 'as', 'extends']);
const IDENT_START = /[A-Za-z_$\u00a0-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u00a0-\uffff]/;

/**
 * Where the statement for a breakpoint on `line` (0-based) goes: the first column of code on that line, when the
 * text shows a statement starts there. Otherwise a reason (the breakpoint then keeps V8's own condition).
 */
export function insertionColumn(source: string, line: number): { column: number } | { reason: string } {
  if (/[\r\u2028\u2029]/.test(source.replace(/\r\n/g, '\n'))) return { reason: 'the script has line separators other than \\n and \\r\\n' };
  const lines = source.split('\n');
  const text = stripCr(lines[line]);
  if (text === undefined) return { reason: `the script has no line ${line + 1}` };
  const column = text.search(/\S/);
  if (column < 0) return { reason: `line ${line + 1} is empty` };
  const first = text[column]!;
  const word = /^[A-Za-z_$][\w$]*/.exec(text.slice(column))?.[0] ?? '';
  if (NOT_A_START.has(word)) return { reason: `line ${line + 1} starts with ${word}, which continues a statement` };
  const prev = previousCode(lines, line);
  if (prev === null) return { reason: `a comment before line ${line + 1} could not be read safely` };
  const after = prev.char;
  if (after === '' || after === ';' || after === '{') {
    if (!IDENT_START.test(first) && !'([`+-!~\'"'.includes(first)) return { reason: `line ${line + 1} starts with ${JSON.stringify(first)}` };
    return { column };
  }
  if (!IDENT_START.test(first)) return { reason: `line ${line + 1} starts with ${JSON.stringify(first)} after ${JSON.stringify(after)}, which may continue the line before` };
  if (after === '}' || after === ':') return { column };
  // No semicolon: the line before ends in a word, a number, a string or a bracket; a word here cannot continue it
  // (automatic semicolon insertion ends the statement before), unless that word is an operator-like keyword.
  if (after === ')') return { reason: `line ${line + 1} follows ")" (it may be the body of an if, for or while without braces)` };
  if (CONTINUING_WORDS.has(prev.word)) return { reason: `line ${line + 1} follows "${prev.word}"` };
  if (IDENT_PART.test(after) || after === ']' || after === '"' || after === "'" || after === '`') return { column };
  return { reason: `line ${line + 1} follows ${JSON.stringify(after)}, which may continue onto it` };
}

/** The last character of code before `line` (skipping blank lines and comments) and the word it ends, if any. */
function previousCode(lines: string[], line: number): { char: string; word: string } | null {
  let inBlock = false;
  for (let i = line - 1; i >= 0; i--) {
    let text = stripCr(lines[i])!;
    if (inBlock) {
      const open = text.lastIndexOf('/*');
      if (open < 0) continue;
      text = text.slice(0, open);
      inBlock = false;
    }
    text = text.trimEnd();
    if (text.endsWith('*/')) {
      const open = text.lastIndexOf('/*');
      if (open < 0) {
        inBlock = true;
        continue;
      }
      text = text.slice(0, open).trimEnd();
    }
    const slash = text.indexOf('//');
    if (slash >= 0) {
      const before = text.slice(0, slash);
      if (/['"`/]/.test(before)) return null; // the // may be inside a string or a regular expression
      text = before.trimEnd();
    }
    if (text === '') continue;
    const char = text[text.length - 1]!;
    const word = /[A-Za-z_$][\w$]*$/.exec(text)?.[0] ?? '';
    return { char, word };
  }
  return { char: '', word: '' };
}

function stripCr(text: string | undefined): string | undefined {
  return text !== undefined && text.endsWith('\r') ? text.slice(0, -1) : text;
}

/** `original` with every insert applied (at most one per line; each on its own line, so none moves another). */
export function applyInserts(original: string, inserts: readonly Insert[]): string {
  if (inserts.length === 0) return original;
  const lines = original.split('\n');
  for (const ins of inserts) {
    const text = lines[ins.line];
    if (text === undefined) throw new Error(`no line ${ins.line + 1}`);
    lines[ins.line] = text.slice(0, ins.column) + ins.text + text.slice(ins.column);
  }
  return lines.join('\n');
}

/** A 0-based column of the edited script as a column of the original (inside an insert: the insert's column). */
export function originalColumn(inserts: readonly Insert[], line: number, column: number): number {
  const ins = inserts.find((i) => i.line === line);
  if (!ins || column < ins.column) return column;
  return column < ins.column + ins.text.length ? ins.column : column - ins.text.length;
}

// Conditional breakpoints and log points compiled into the script (docs/performance.md, Node.js): the agent edits
// the script through the inspector (Debugger.setScriptSource) so the condition runs as the program's own code, in
// front of the statement that starts the breakpoint's line, and the program stops at an inserted `debugger`
// statement only when it holds. A false condition then costs what the same `if` in the program would cost, where
// V8's own breakpoint condition costs a debug-evaluate (~100 µs) per hit.
//
// Breakpoints say what they want (want/drop); flush() edits. V8 refuses an edit while a function it changes runs (on
// the stack, or a generator or async function that has not finished) and at an ES module's top level; the
// breakpoint then keeps V8's own condition (the caller's job) and a later flush tries again. Every edit keeps line
// numbers: the statement goes on the breakpoint's line. The original text is kept for `source` requests and comes
// back when the last insert of a script goes (and at detach).

import { log } from '../../protocol/log.js';
import { applyInserts, guardStatement, insertionColumn, originalColumn, type Insert } from '../translate/script-edit.js';
import type { V8Runtime } from './runtime.js';

interface Wanted {
  bpId: number;
  line: number;
  condition: string;
  /** Where the statement goes on the line (0-based). */
  column: number;
  /** Why this breakpoint cannot be compiled into this script (for good); null while it can be. */
  refused: string | null;
}

interface Applied extends Insert {
  bpId: number;
  /** The original column where V8's own breakpoint on the line stops (a stop in the insert is shown there). */
  stop?: number | undefined;
}

interface ScriptEdit {
  original: string;
  wanted: Map<number, Wanted>;
  /** The inserts V8 runs now. */
  applied: Applied[];
  /** While an edit is under way: the inserts V8 ran before it. */
  previous: Applied[];
  /** Why the last edit was refused by V8 for now (retried later), or null. */
  blocked: string | null;
}

export interface SyncResult {
  /** V8 now runs other code for the script: every V8 breakpoint in it is gone and must be set again. */
  changed: boolean;
}

/** setScriptSource statuses that a later try may get past. */
const TRANSIENT = new Set(['BlockedByActiveFunction', 'BlockedByActiveGenerator']);
const WHY: Record<string, string> = {
  BlockedByActiveFunction: 'a function the edit changes is running (on the stack)',
  BlockedByActiveGenerator: 'a generator or async function the edit changes has not finished',
  BlockedByTopLevelEsModuleChange: "the edit would change an ES module's top-level code (the line is in it, or the condition names a top-level variable that no function used)",
  CompileError: 'the script with the inserted statement did not compile',
};

export class ScriptEdits {
  readonly #runtime: V8Runtime;
  readonly #agentGlobal: string;
  readonly #scripts = new Map<string, ScriptEdit>();

  /** A breakpoint's tag in inserted code (its hit counter, its log lines, its stop). */
  readonly #tag: (bpId: number) => string;

  constructor(runtime: V8Runtime, agentGlobal: string, tag: (bpId: number) => string = (id) => `bp${id}`) {
    this.#runtime = runtime;
    this.#agentGlobal = agentGlobal;
    this.#tag = tag;
  }

  /** True while some edit waits for V8 (an insert to add, or an original to give back). */
  get pending(): boolean {
    for (const edit of this.#scripts.values()) if (this.#differs(edit)) return true;
    return false;
  }

  /** True while any script runs edited. */
  get any(): boolean {
    for (const edit of this.#scripts.values()) if (edit.applied.length > 0) return true;
    return false;
  }

  /** True when breakpoint `bpId` runs compiled into some script. */
  appliedAnywhere(bpId: number): boolean {
    for (const edit of this.#scripts.values()) if (edit.applied.some((a) => a.bpId === bpId)) return true;
    return false;
  }

  /** True when breakpoint `bpId` runs compiled into script `scriptId` (it needs no V8 breakpoint there). */
  isApplied(bpId: number, scriptId: string): boolean {
    return this.#scripts.get(scriptId)?.applied.some((a) => a.bpId === bpId) ?? false;
  }

  /** The script's own text while it is edited (what getScriptSource should show), else undefined. */
  original(scriptId: string): string | undefined {
    const edit = this.#scripts.get(scriptId);
    return edit && edit.applied.length > 0 ? edit.original : undefined;
  }

  /** A 0-based column V8 reports, as a column of the original text. */
  originalColumn(scriptId: string, line: number, column: number): number {
    const edit = this.#scripts.get(scriptId);
    if (!edit) return column;
    const ins = edit.applied.find((a) => a.line === line && column >= a.column && column < a.column + a.text.length);
    return ins ? (ins.stop ?? ins.column) : originalColumn(edit.applied, line, column);
  }

  /** True on a line that holds an insert, after it: the line's own code in the edited script. */
  pastInsert(location: { scriptId: string; lineNumber: number; columnNumber?: number }): boolean {
    const edit = this.#scripts.get(location.scriptId);
    const column = location.columnNumber ?? 0;
    const at = (a: Applied): boolean => a.line === location.lineNumber && column >= a.column + a.text.length;
    return !!edit && (edit.applied.some(at) || edit.previous.some(at));
  }

  /**
   * Where a pause landed, as far as the inserts go: 'debugger' at an inserted `debugger` statement (with the
   * breakpoint, or null when it was removed and its insert could not be taken out yet), 'inside' elsewhere in an
   * insert (a step went in), or null outside every insert.
   */
  locate(location: { scriptId: string; lineNumber: number; columnNumber?: number }): { kind: 'debugger' | 'inside'; bpId: number | null } | null {
    const edit = this.#scripts.get(location.scriptId);
    const column = location.columnNumber ?? 0;
    const inside = (a: Applied): boolean => a.line === location.lineNumber && column >= a.column && column < a.column + a.text.length;
    const ins = edit?.applied.find(inside) ?? edit?.previous.find(inside);
    if (!edit || !ins) return null;
    const bpId = edit.wanted.get(ins.bpId)?.refused === null ? ins.bpId : null;
    const offset = column - ins.column;
    const isDebugger = ins.text.startsWith('debugger', offset);
    return { kind: isDebugger ? 'debugger' : 'inside', bpId };
  }

  /** Breakpoint `bpId` (with its V8 condition) should run compiled into `scriptId` at 0-based `line` (see flush). */
  async want(bpId: number, scriptId: string, line: number, condition: string): Promise<void> {
    let edit = this.#scripts.get(scriptId);
    const existing = edit?.wanted.get(bpId);
    if (existing && existing.line === line && existing.condition === condition) return;
    if (!edit) {
      const source = await this.#runtime.cdp.post<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId }).catch(() => null);
      if (!source) {
        log('agent', `breakpoint ${bpId}: keeps V8's condition: the script's text could not be read`);
        return;
      }
      edit = { original: source.scriptSource, wanted: new Map(), applied: [], previous: [], blocked: null };
      this.#scripts.set(scriptId, edit);
    }
    const wanted: Wanted = { bpId, line, condition, column: 0, refused: null };
    edit.wanted.set(bpId, wanted);
    if (/[\n\r\u2028\u2029]/.test(condition)) return this.#refuse(wanted, 'the condition or log message spans lines (the statement must stay on one line)');
    const other = [...edit.wanted.values()].find((w) => w.bpId !== bpId && w.line === line && w.refused === null);
    if (other) return this.#refuse(wanted, `breakpoint ${other.bpId} is compiled into the same line`);
    const at = insertionColumn(edit.original, line);
    if ('reason' in at) return this.#refuse(wanted, at.reason);
    wanted.column = at.column;
  }

  /** Breakpoint `bpId` is gone: its inserts go at the next flush (until then its stops are passed over). */
  drop(bpId: number): void {
    for (const edit of this.#scripts.values()) edit.wanted.delete(bpId);
  }

  /**
   * Brings every script to its wanted inserts; what V8 refuses for now waits for the next flush. Returns the
   * scripts V8 now runs other code for.
   */
  async flush(): Promise<string[]> {
    const changed: string[] = [];
    for (const [scriptId, edit] of [...this.#scripts]) {
      if (this.#differs(edit) && (await this.#sync(scriptId, edit)).changed) changed.push(scriptId);
      if (edit.applied.length === 0 && edit.wanted.size === 0) this.#scripts.delete(scriptId);
    }
    return changed;
  }

  /** Detach: every script gets its own text back (what V8 refuses now stays until a flush gets past it). */
  async restoreAll(): Promise<void> {
    for (const edit of this.#scripts.values()) edit.wanted.clear();
    await this.flush();
  }

  #differs(edit: ScriptEdit): boolean {
    const target = this.#target(edit);
    return target.length !== edit.applied.length || target.some((t) => !isIn(edit.applied, t));
  }

  /** The inserts the script should have: every wanted breakpoint not refused. */
  #target(edit: ScriptEdit): Applied[] {
    const out: Applied[] = [];
    for (const w of edit.wanted.values()) {
      if (w.refused === null) out.push({ bpId: w.bpId, line: w.line, column: w.column, text: guardStatement(w.condition, this.#agentGlobal, this.#tag(w.bpId)) });
    }
    return out;
  }

  #refuse(w: Wanted | undefined, reason: string): void {
    if (!w) return;
    w.refused = reason;
    log('agent', `breakpoint ${w.bpId} keeps V8's condition (line ${w.line + 1}): ${reason}`);
  }

  /**
   * Brings V8's copy of the script to the wanted inserts: all in one edit when V8 takes it. Otherwise one change
   * (an insert out, or one in) per edit: a change V8 refuses for now (a function it changes runs) waits for the next
   * flush while the others go through; a new insert V8 refuses for good leaves its breakpoint on V8's condition.
   */
  async #sync(scriptId: string, edit: ScriptEdit): Promise<SyncResult> {
    let changed = false;
    let oneByOne = false;
    const waiting = new Set<string>(); // changes V8 refused in this flush: `${bpId}:${line}`
    const key = (a: Applied): string => `${a.bpId}:${a.line}`;
    for (let round = 0; round <= 2 * (edit.wanted.size + edit.applied.length) + 2 && this.#differs(edit); round++) {
      const full = this.#target(edit);
      const removals = edit.applied.filter((a) => !isIn(full, a) && !waiting.has(key(a)));
      const additions = full.filter((t) => !isIn(edit.applied, t) && !waiting.has(key(t)));
      let next: Applied[];
      let adding: Applied[];
      let change: Applied | undefined;
      if (!oneByOne) {
        if (removals.length + additions.length === 1) change = removals[0] ?? additions[0];
        adding = additions;
        next = [...edit.applied.filter((a) => isIn(full, a)), ...additions];
      } else if ((change = removals[0])) {
        adding = [];
        next = edit.applied.filter((a) => a !== change);
      } else {
        // one insert per line: a line still holding a removed insert (waiting) takes no new one yet
        change = additions.find((t) => !edit.applied.some((a) => a.line === t.line));
        if (!change) break;
        adding = [change];
        next = [...edit.applied, change];
      }
      const before = new Map<number, { column: number; type: string }[]>();
      // (in the original text's columns: an insert that goes out of the same line in this edit is not among them)
      for (const a of adding) before.set(a.line, originalLocations(edit.applied, a.line, await this.#locations(scriptId, a.line)));
      // While V8 edits, a pause may come from the old inserts or the new ones: `locate` knows both until the answer.
      edit.previous = edit.applied;
      edit.applied = next;
      const status = await this.#setSource(scriptId, applyInserts(edit.original, next));
      if (status !== 'Ok') edit.applied = edit.previous;
      edit.previous = [];
      if (status !== 'Ok') {
        const why = WHY[status] ?? `V8 answered ${status}`;
        if (TRANSIENT.has(status)) {
          if (edit.blocked !== why) log('agent', `script ${scriptId}: an edit waits (${why}); meanwhile its breakpoints keep V8's condition and removed ones stay in, passed over`);
          edit.blocked = why;
        }
        if (!change) oneByOne = true;
        else if (TRANSIENT.has(status) || adding.length === 0) waiting.add(key(change));
        else this.#refuse(edit.wanted.get(change.bpId), why);
        continue;
      }
      if (waiting.size === 0) edit.blocked = null;
      changed = true;
      // V8's own check that each statement went in as code where the line's code starts: an inserted `debugger`
      // is a break location, and the line's other break locations moved by exactly the insert.
      for (const a of adding) {
        if (!insertedAsCode(a, before.get(a.line) ?? [], await this.#locations(scriptId, a.line))) {
          this.#refuse(edit.wanted.get(a.bpId), 'the inserted statement did not become code at the start of the line');
        } else {
          a.stop = before.get(a.line)?.find((l) => l.column >= a.column)?.column;
        }
      }
    }
    if (changed) log('agent', `script ${scriptId}: ${edit.applied.length ? `breakpoints ${edit.applied.map((a) => a.bpId).join(', ')} compiled in` : 'original text restored'}`);
    return { changed };
  }

  async #setSource(scriptId: string, scriptSource: string): Promise<string> {
    try {
      const r = await this.#runtime.cdp.post<{ status?: string }>('Debugger.setScriptSource', { scriptId, scriptSource });
      return r.status ?? 'Ok';
    } catch (err) {
      return `an error (${(err as Error).message})`;
    }
  }

  async #locations(scriptId: string, line: number): Promise<{ column: number; type: string }[]> {
    const r = await this.#runtime.cdp
      .post<{ locations: { scriptId: string; lineNumber: number; columnNumber?: number; type?: string }[] }>('Debugger.getPossibleBreakpoints', {
        start: { scriptId, lineNumber: line, columnNumber: 0 },
        end: { scriptId, lineNumber: line + 1, columnNumber: 0 },
      })
      .catch(() => ({ locations: [] }));
    // Asking for break locations gives the function V8's break info, which keeps it from being optimized (25x on a
    // hot loop) until its last breakpoint goes: set one there and take it out again, which clears it.
    const first = r.locations[0];
    if (first) {
      const bp = await this.#runtime.cdp.post<{ breakpointId: string }>('Debugger.setBreakpoint', { location: first, condition: 'false' }).catch(() => null);
      if (bp) await this.#runtime.cdp.post('Debugger.removeBreakpoint', { breakpointId: bp.breakpointId }).catch(() => undefined);
    }
    return r.locations.filter((l) => l.lineNumber === line).map((l) => ({ column: l.columnNumber ?? 0, type: l.type ?? '' }));
  }
}

function isIn(list: readonly Applied[], x: Applied): boolean {
  return list.some((a) => a.bpId === x.bpId && a.line === x.line && a.column === x.column && a.text === x.text);
}

/** Break locations V8 reports on `line` of the script with `applied` in, as columns of the original (inserts dropped). */
function originalLocations(applied: readonly Applied[], line: number, locations: { column: number; type: string }[]): { column: number; type: string }[] {
  const ins = applied.find((a) => a.line === line);
  if (!ins) return locations;
  return locations.filter((l) => l.column < ins.column || l.column >= ins.column + ins.text.length).map((l) => ({ ...l, column: originalColumn([ins], line, l.column) }));
}

function insertedAsCode(ins: Insert, before: { column: number; type: string }[], after: { column: number; type: string }[]): boolean {
  const end = ins.column + ins.text.length;
  if (!after.some((l) => l.type === 'debuggerStatement' && l.column >= ins.column && l.column < end)) return false;
  const moved = before.filter((l) => l.column >= ins.column).map((l) => `${l.column + ins.text.length}:${l.type}`);
  const now = after.filter((l) => l.column >= end).map((l) => `${l.column}:${l.type}`);
  return moved.length === now.length && moved.every((m, i) => m === now[i]);
}

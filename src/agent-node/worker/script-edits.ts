// Conditional breakpoints and log points compiled into the script (docs/performance.md, Node.js): the agent edits
// the script through the inspector (Debugger.setScriptSource) so the condition runs as the program's own code, in
// front of the statement that starts the breakpoint's line, and the program stops at an inserted `debugger`
// statement only when it holds. A false condition then costs what the same `if` in the program would cost, where
// V8's own breakpoint condition costs a debug-evaluate (~100 µs) per hit.
//
// V8 refuses an edit while a function it changes runs (on the stack, or a generator or async function that has not
// finished) and at an ES module's top level; the breakpoint then keeps V8's own condition (the caller's job) and the
// edit is tried again later. Every edit keeps line numbers: the statement goes on the breakpoint's line. The
// original text is kept for getScriptSource and restored when the last insert of a script goes (and at detach).

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

  constructor(runtime: V8Runtime, agentGlobal: string) {
    this.#runtime = runtime;
    this.#agentGlobal = agentGlobal;
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
    return edit ? originalColumn(edit.applied, line, column) : column;
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

  /** Breakpoint `bpId` (with its V8 condition) should run compiled into `scriptId` at 0-based `line`. */
  async want(bpId: number, scriptId: string, line: number, condition: string): Promise<SyncResult> {
    let edit = this.#scripts.get(scriptId);
    const existing = edit?.wanted.get(bpId);
    if (existing && existing.line === line && existing.condition === condition) return { changed: false };
    if (!edit) {
      const source = await this.#runtime.cdp.post<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId }).catch(() => null);
      if (!source) {
        log('agent', `breakpoint ${bpId}: keeps V8's condition: the script's text could not be read`);
        return { changed: false };
      }
      edit = { original: source.scriptSource, wanted: new Map(), applied: [], previous: [], blocked: null };
      this.#scripts.set(scriptId, edit);
    }
    if (/[\n\r\u2028\u2029]/.test(condition)) {
      edit.wanted.set(bpId, { bpId, line, condition, column: 0, refused: null });
      this.#refuse(edit.wanted.get(bpId), 'the condition or log message spans lines (the statement must stay on one line)');
      return this.#sync(scriptId, edit);
    }
    const other = [...edit.wanted.values()].find((w) => w.bpId !== bpId && w.line === line && w.refused === null);
    const at = insertionColumn(edit.original, line);
    const wanted: Wanted = { bpId, line, condition, column: 'column' in at ? at.column : 0, refused: null };
    edit.wanted.set(bpId, wanted);
    if (other) this.#refuse(wanted, `breakpoint ${other.bpId} is compiled into the same line`);
    else if ('reason' in at) this.#refuse(wanted, at.reason);
    return this.#sync(scriptId, edit);
  }

  /** Breakpoint `bpId` is gone: take its inserts out. Returns the scripts V8 now runs other code for. */
  async drop(bpId: number): Promise<string[]> {
    const changed: string[] = [];
    for (const [scriptId, edit] of this.#scripts) {
      if (!edit.wanted.delete(bpId)) continue;
      if ((await this.#sync(scriptId, edit)).changed) changed.push(scriptId);
    }
    return changed;
  }

  /** Tries every edit V8 refused for now again. Returns the scripts V8 now runs other code for. */
  async retry(): Promise<string[]> {
    const changed: string[] = [];
    for (const [scriptId, edit] of [...this.#scripts]) {
      if (this.#differs(edit) && (await this.#sync(scriptId, edit)).changed) changed.push(scriptId);
    }
    return changed;
  }

  /** Detach: every script gets its own text back (what V8 refuses now stays until `retry` gets past it). */
  async restoreAll(): Promise<void> {
    for (const edit of this.#scripts.values()) edit.wanted.clear();
    await this.retry();
  }

  #differs(edit: ScriptEdit): boolean {
    const target = this.#target(edit);
    return target.length !== edit.applied.length || target.some((t) => !isIn(edit.applied, t));
  }

  /** The inserts the script should have: every wanted breakpoint not refused. */
  #target(edit: ScriptEdit): Applied[] {
    const out: Applied[] = [];
    for (const w of edit.wanted.values()) {
      if (w.refused === null) out.push({ bpId: w.bpId, line: w.line, column: w.column, text: guardStatement(w.condition, this.#agentGlobal) });
    }
    return out;
  }

  #refuse(w: Wanted | undefined, reason: string): void {
    if (!w) return;
    w.refused = reason;
    log('agent', `breakpoint ${w.bpId} keeps V8's condition (line ${w.line + 1}): ${reason}`);
  }

  /** Brings V8's copy of the script to the wanted inserts, one new insert per edit (so a refusal names its cause). */
  async #sync(scriptId: string, edit: ScriptEdit): Promise<SyncResult> {
    let changed = false;
    for (let round = 0; round <= edit.wanted.size + 1; round++) {
      const full = this.#target(edit);
      const keep = edit.applied.filter((a) => isIn(full, a));
      const add = full.find((t) => !isIn(edit.applied, t));
      if (!add && keep.length === edit.applied.length) break;
      const next = add ? [...keep, add] : keep;
      const before = add ? await this.#locations(scriptId, add.line) : [];
      // While V8 edits, a pause may come from the old inserts or the new ones: `locate` knows both until the answer.
      edit.previous = edit.applied;
      edit.applied = next;
      const status = await this.#setSource(scriptId, applyInserts(edit.original, next));
      if (status !== 'Ok') edit.applied = edit.previous;
      edit.previous = [];
      if (status !== 'Ok') {
        const why = WHY[status] ?? `V8 answered ${status}`;
        if (TRANSIENT.has(status) || !add) {
          if (edit.blocked !== why) log('agent', `script ${scriptId}: edit waits (${why}); until it is tried again, breakpoints keep V8's condition and removed ones stay in`);
          edit.blocked = why;
          break;
        }
        this.#refuse(edit.wanted.get(add.bpId), why);
        continue;
      }
      edit.blocked = null;
      changed = true;
      // V8's own check that the statement went in as code where the line's code starts: an inserted `debugger`
      // is a break location, and the line's other break locations moved by exactly the insert.
      if (add && !insertedAsCode(add, before, await this.#locations(scriptId, add.line))) {
        this.#refuse(edit.wanted.get(add.bpId), 'the inserted statement did not become code at the start of the line');
      }
    }
    if (edit.applied.length === 0 && edit.wanted.size === 0) this.#scripts.delete(scriptId);
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
      .post<{ locations: { lineNumber: number; columnNumber?: number; type?: string }[] }>('Debugger.getPossibleBreakpoints', {
        start: { scriptId, lineNumber: line, columnNumber: 0 },
        end: { scriptId, lineNumber: line + 1, columnNumber: 0 },
      })
      .catch(() => ({ locations: [] }));
    return r.locations.filter((l) => l.lineNumber === line).map((l) => ({ column: l.columnNumber ?? 0, type: l.type ?? '' }));
  }
}

function isIn(list: readonly Applied[], x: Applied): boolean {
  return list.some((a) => a.bpId === x.bpId && a.line === x.line && a.column === x.column && a.text === x.text);
}

function insertedAsCode(ins: Insert, before: { column: number; type: string }[], after: { column: number; type: string }[]): boolean {
  const end = ins.column + ins.text.length;
  if (!after.some((l) => l.type === 'debuggerStatement' && l.column >= ins.column && l.column < end)) return false;
  const moved = before.filter((l) => l.column >= ins.column).map((l) => `${l.column + ins.text.length}:${l.type}`);
  const now = after.filter((l) => l.column >= end).map((l) => `${l.column}:${l.type}`);
  return moved.length === now.length && moved.every((m, i) => m === now[i]);
}

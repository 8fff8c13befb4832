// The Debugger's breakpoints: numbered as users see them (never reused in a session), sent to the server the
// way DAP wants them (the whole list per file, all function breakpoints at once), and matched back to the
// server's answers, `breakpoint` events and stops.

import { resolve as resolvePath } from 'node:path';
import type { DebugProtocol as P } from '@vscode/debugprotocol';
import { LongreachError } from '../protocol/errors.js';
import type { Frame } from './frames.js';
import type { DapSession } from './session.js';

export interface LineBreakpointSpec {
  /** A local path (absolute, or relative to the current directory); mapped with pathMappings by the agent. */
  file: string;
  line: number;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
  /** Deleted after its first stop (`tbreak`). */
  temporary?: boolean;
}

export interface BreakpointInfo {
  /** The number users refer to (`delete 2`); never reused in a session. */
  number: number;
  kind: 'line' | 'function';
  file?: string;
  line?: number;
  name?: string;
  condition?: string;
  hitCondition?: string;
  logMessage?: string;
  temporary: boolean;
  verified: boolean;
  /** Why it is not verified (from the agent), if it said. */
  message?: string;
  hits: number;
  dapId?: number;
}

type NewBreakpoint = Omit<BreakpointInfo, 'number' | 'verified' | 'hits'>;

export class BreakpointTable {
  readonly #session: DapSession;
  readonly #byNumber = new Map<number, BreakpointInfo>();
  #nextNumber = 1;

  constructor(session: DapSession) {
    this.#session = session;
  }

  list(): BreakpointInfo[] {
    return [...this.#byNumber.values()];
  }

  get(number: number): BreakpointInfo | undefined {
    return this.#byNumber.get(number);
  }

  /** Numbers a line breakpoint (the line is checked first); sync its file to send it. */
  addLine(spec: LineBreakpointSpec): BreakpointInfo {
    return this.#add(lineInfo(spec));
  }

  /** Numbers a function breakpoint; syncFunctions() sends it. */
  addFunction(name: string, condition?: string): BreakpointInfo {
    return this.#add({ kind: 'function', name, temporary: false, ...(condition ? { condition } : {}) });
  }

  /** Forgets a breakpoint here only (sync its file or the functions to tell the server). */
  forget(number: number): void {
    this.#byNumber.delete(number);
  }

  /** The files that have line breakpoints. */
  files(): Set<string> {
    return new Set(this.list().flatMap((b) => (b.kind === 'line' ? [b.file!] : [])));
  }

  /** DAP sets breakpoints per file: send the whole list for `file` and read back each one's verification. */
  async syncFile(file: string): Promise<void> {
    const list = this.list().filter((b) => b.kind === 'line' && b.file === file);
    const body = await this.#session.request<P.SetBreakpointsResponse['body']>('setBreakpoints', {
      source: { path: file, name: file.split(/[\\/]/).pop() },
      breakpoints: list.map((b) => ({ line: b.line!, ...(b.condition ? { condition: b.condition } : {}), ...(b.hitCondition ? { hitCondition: b.hitCondition } : {}), ...(b.logMessage ? { logMessage: b.logMessage } : {}) })),
      lines: list.map((b) => b.line!),
      sourceModified: false,
    });
    absorb(list, body?.breakpoints ?? []);
  }

  async syncFunctions(): Promise<void> {
    const list = this.list().filter((b) => b.kind === 'function');
    const body = await this.#session.request<P.SetFunctionBreakpointsResponse['body']>('setFunctionBreakpoints', {
      breakpoints: list.map((b) => ({ name: b.name!, ...(b.condition ? { condition: b.condition } : {}) })),
    });
    absorb(list, body?.breakpoints ?? []);
  }

  /** A `breakpoint` event: updates the breakpoint the server means, if it is one of ours. */
  changed(b: P.Breakpoint): BreakpointInfo | null {
    const info = this.list().find((x) => x.dapId !== undefined && x.dapId === b.id);
    if (!info) return null;
    info.verified = b.verified;
    if (b.line !== undefined && info.kind === 'line') info.line = b.line;
    if (b.message) info.message = b.message;
    else delete info.message;
    return info;
  }

  /** Our numbers for the breakpoints behind a stop: by DAP id when the server names them, else by location. */
  hitBy(body: P.StoppedEvent['body'], top: Frame | undefined): number[] {
    if (body.reason !== 'breakpoint' && body.reason !== 'function breakpoint') return [];
    const ids = body.hitBreakpointIds ?? [];
    const byId = this.list().filter((b) => b.dapId !== undefined && ids.includes(b.dapId));
    if (byId.length > 0) return byId.map((b) => b.number);
    if (!top) return [];
    return this.list()
      .filter((b) => (b.kind === 'line' ? b.line === top.line && top.path !== null && sameFile(b.file!, top.path) : b.name === top.name))
      .map((b) => b.number);
  }

  #add(partial: NewBreakpoint): BreakpointInfo {
    const info: BreakpointInfo = { ...partial, number: this.#nextNumber++, verified: false, hits: 0 };
    this.#byNumber.set(info.number, info);
    return info;
  }
}

function lineInfo(spec: LineBreakpointSpec): NewBreakpoint {
  if (!Number.isInteger(spec.line) || spec.line < 1) throw new LongreachError('LR_BAD_REQUEST', `line numbers start at 1, got ${spec.line}`);
  return {
    kind: 'line',
    file: resolvePath(spec.file),
    line: spec.line,
    temporary: spec.temporary === true,
    ...(spec.condition ? { condition: spec.condition } : {}),
    ...(spec.hitCondition ? { hitCondition: spec.hitCondition } : {}),
    ...(spec.logMessage ? { logMessage: spec.logMessage } : {}),
  };
}

function absorb(list: BreakpointInfo[], answers: P.Breakpoint[]): void {
  list.forEach((b, i) => {
    const a = answers[i];
    if (!a) return;
    b.verified = a.verified;
    if (a.id !== undefined) b.dapId = a.id;
    if (a.line !== undefined && b.kind === 'line') b.line = a.line;
    if (a.message) b.message = a.message;
    else delete b.message;
  });
}

function sameFile(a: string, b: string): boolean {
  return a === b || a.replace(/\\/g, '/').toLowerCase() === b.replace(/\\/g, '/').toLowerCase();
}

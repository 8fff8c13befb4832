// Values as the Debugger shows them: evaluation in a frame, scopes, variables (expandable by reference),
// setVariable and completions, each one DAP request read into plain data.

import type { DebugProtocol as P } from '@vscode/debugprotocol';
import { LongreachError } from '../protocol/errors.js';
import type { DapSession } from './session.js';

export interface Variable {
  name: string;
  value: string;
  type?: string;
  /** Non-zero when it has children (expand it). */
  ref: number;
  named?: number;
  indexed?: number;
  /** DAP presentationHint: kind (`data`, `virtual`...) and lazy (computed when expanded). */
  hint?: { kind?: string; lazy?: boolean };
}

export interface Scope {
  name: string;
  ref: number;
  expensive: boolean;
}

export async function evaluateIn(session: DapSession, frameId: number, expression: string, context: 'repl' | 'watch' | 'hover'): Promise<Variable> {
  try {
    // The prompt's evaluations may run up to the agent's budget (10 s by default, LONGREACH_EVAL_BUDGET): wait longer
    // than that, so the agent's LR_EVAL_BUDGET answer arrives rather than a client timeout.
    const wait = context === 'repl' ? { timeoutMs: Math.max(session.timeoutMs, 60_000) } : {};
    const body = await session.request<P.EvaluateResponse['body']>('evaluate', { expression, context, frameId }, wait);
    return { name: expression, value: body.result, ref: body.variablesReference ?? 0, ...(body.type ? { type: body.type } : {}), ...counts(body) };
  } catch (err) {
    if (err instanceof LongreachError && err.code === 'LR_BAD_REQUEST') {
      // debugpy sends a whole traceback; its last line says what went wrong.
      const lines = err.message.split('\n').map((l) => l.trim()).filter(Boolean);
      throw new LongreachError('LR_EVAL_FAILED', lines[0]?.startsWith('Traceback') ? lines[lines.length - 1]! : err.message);
    }
    throw err;
  }
}

export async function scopesOf(session: DapSession, frameId: number): Promise<Scope[]> {
  const body = await session.request<P.ScopesResponse['body']>('scopes', { frameId });
  return (body?.scopes ?? []).map((s) => ({ name: s.name, ref: s.variablesReference, expensive: s.expensive }));
}

export async function variablesOf(session: DapSession, ref: number, start?: number, count?: number): Promise<Variable[]> {
  if (ref <= 0) throw new LongreachError('LR_BAD_REQUEST', 'that value has no children to expand');
  const body = await session.request<P.VariablesResponse['body']>('variables', {
    variablesReference: ref,
    ...(start !== undefined ? { start } : {}),
    ...(count !== undefined ? { count } : {}),
  });
  return (body?.variables ?? [])
    .filter((v) => v.presentationHint?.visibility !== 'internal')
    .map((v) => ({ name: v.name, value: v.value, ref: v.variablesReference, ...(v.type ? { type: v.type } : {}), ...counts(v) }));
}

export async function setVariableIn(session: DapSession, scopeRef: number, name: string, expression: string): Promise<Variable> {
  const body = await session.request<P.SetVariableResponse['body']>('setVariable', { variablesReference: scopeRef, name, value: expression });
  return { name, value: body.value, ref: body.variablesReference ?? 0, ...(body.type ? { type: body.type } : {}) };
}

/** Completions for `text` at its end (frameId: the frame to complete in, if any). */
export async function completionsFor(session: DapSession, text: string, frameId: number | undefined): Promise<string[]> {
  const body = await session.request<P.CompletionsResponse['body']>('completions', { text, column: text.length + 1, ...(frameId !== undefined ? { frameId } : {}) }, { timeoutMs: 2000 });
  return (body?.targets ?? []).map((t) => t.text ?? t.label);
}

function counts(v: { namedVariables?: number; indexedVariables?: number; presentationHint?: P.VariablePresentationHint }): { named?: number; indexed?: number; hint?: { kind?: string; lazy?: boolean } } {
  const h = v.presentationHint;
  const hint = h && (h.kind !== undefined || h.lazy !== undefined) ? { hint: { ...(h.kind !== undefined ? { kind: h.kind } : {}), ...(h.lazy !== undefined ? { lazy: h.lazy } : {}) } } : {};
  return { ...(v.namedVariables !== undefined ? { named: v.namedVariables } : {}), ...(v.indexedVariables !== undefined ? { indexed: v.indexedVariables } : {}), ...hint };
}

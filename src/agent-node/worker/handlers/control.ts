// Execution control and sources: threads, continue, next, stepIn, stepOut, pause, source, loadedSources.

import { readFileSync, statSync } from 'node:fs';
import { LongreachError } from '../../../protocol/errors.js';
import { SourceMaps } from '../../sourcemaps.js';
import { baseName, samePath, scriptPath, toClient, toRemote } from '../../translate/paths.js';
import { THREAD_ID, badRequest, requirePaused, type SessionState } from '../state.js';

const MAX_SOURCE_BYTES = 16 * 1024 * 1024;

export function threads(): unknown {
  return { threads: [{ id: THREAD_ID, name: 'main' }] };
}

export type StepKind = 'next' | 'stepIn' | 'stepOut';

const STEP_METHOD: Record<StepKind, string> = { next: 'Debugger.stepOver', stepIn: 'Debugger.stepInto', stepOut: 'Debugger.stepOut' };

export async function step(state: SessionState, kind: StepKind): Promise<unknown> {
  const paused = requirePaused(state, kind);
  // Stopped inside the agent (breakIntoDebugger): any step first returns to the caller.
  const top = paused.callFrames[0];
  const inAgent = top !== undefined && state.runtime.isHidden(top.location.scriptId);
  await state.runtime.cdp.post(inAgent ? 'Debugger.stepOut' : STEP_METHOD[kind]);
  return undefined;
}

export async function source(state: SessionState, args: Record<string, unknown>): Promise<unknown> {
  const src = (args.source ?? {}) as { path?: unknown; sourceReference?: unknown };
  const ref = typeof src.sourceReference === 'number' && src.sourceReference > 0 ? src.sourceReference : args.sourceReference;
  if (typeof ref === 'number' && ref > 0) {
    const scriptId = state.sources.get(ref);
    if (!scriptId) throw badRequest(`sourceReference ${ref} is not known; take references from stackTrace or loadedSources`);
    return { content: await scriptSource(state, scriptId), mimeType: 'text/javascript' };
  }
  if (typeof src.path !== 'string') throw badRequest('source needs source.path or sourceReference');
  const path = toRemote(src.path, state.mappings);
  for (const script of state.runtime.scripts.values()) {
    const p = scriptPath(script.url);
    if (p && samePath(p, path)) {
      return { content: await scriptSource(state, script.scriptId) };
    }
    const mapped = script.sourceMapURL ? state.maps.load(script.scriptId, script.url, script.sourceMapURL) : null;
    const content = mapped ? SourceMaps.contentFor(mapped, path) : null;
    if (content !== null) return { content };
  }
  try {
    if (statSync(path).size > MAX_SOURCE_BYTES) throw badRequest(`${path} is larger than ${MAX_SOURCE_BYTES} bytes`);
    return { content: readFileSync(path, 'utf8') };
  } catch (err) {
    if (err instanceof LongreachError) throw err;
    throw badRequest(`no source for ${src.path} in the debugged process (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); check pathMappings`);
  }
}

/** A script's text as the program has it (without statements compiled in for breakpoints). */
async function scriptSource(state: SessionState, scriptId: string): Promise<string> {
  const original = state.breakpoints.edits.original(scriptId);
  if (original !== undefined) return original;
  const r = await state.runtime.cdp.post<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId });
  return r.scriptSource;
}

export async function loadedSources(state: SessionState): Promise<unknown> {
  const out: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (const script of state.runtime.scripts.values()) {
    const path = scriptPath(script.url);
    if (path && !seen.has(path)) {
      seen.add(path);
      const client = toClient(path, state.mappings);
      out.push({ name: baseName(client), path: client });
    }
    const mapped = script.sourceMapURL && path && !path.includes('/node_modules/') ? state.maps.load(script.scriptId, script.url, script.sourceMapURL) : null;
    for (const p of mapped?.sourcePaths ?? []) {
      if (p && !seen.has(p)) {
        seen.add(p);
        const client = toClient(p, state.mappings);
        out.push({ name: baseName(client), path: client });
      }
    }
  }
  return { sources: out };
}

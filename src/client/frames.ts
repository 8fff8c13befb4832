// Stops and frames as the Debugger shows them: a stop's thread, its frames (fetched a page at a time, paths mapped
// back to local ones) and, for an exception stop, what the exception was.

import type { DebugProtocol as P } from '@vscode/debugprotocol';
import { toLocalPath, type PathMapping } from './path-map.js';
import type { DapSession } from './session.js';

export interface Frame {
  index: number;
  id: number;
  name: string;
  /** The path the agent reported, and its local counterpart (same when no mapping applies). */
  remotePath: string | null;
  path: string | null;
  /** The source's name when it has no path (`node:internal/timers`, `<string>`), else null. */
  sourceName: string | null;
  sourceReference: number;
  line: number;
  column: number;
}

export interface Stop {
  reason: string;
  description?: string;
  text?: string;
  threadId: number;
  threadName: string;
  frames: Frame[];
  totalFrames: number;
  /** Numbers of the breakpoints that caused the stop. */
  breakpoints: number[];
  exception?: { id: string; description?: string };
}

/**
 * The process of a job a thread belongs to, from its name (`pid 4242 rank 1: MainThread`, as both agents' job
 * sessions name threads); null for a thread not named so (a session of one process).
 */
export function threadProcess(name: string): { pid: number; label: string } | null {
  const m = /^pid (\d+)( [^:]*)?: /.exec(name);
  return m ? { pid: Number(m[1]), label: (m[2] ?? '').trim() } : null;
}

/** Frames asked for at a time. */
export const FRAME_PAGE = 64;

/** One page of a thread's frames from `startFrame` on, numbered from `startFrame`. */
export async function fetchFrames(session: DapSession, threadId: number, startFrame: number, pathMappings: readonly PathMapping[]): Promise<{ frames: Frame[]; totalFrames: number | undefined }> {
  const body = await session.request<P.StackTraceResponse['body']>('stackTrace', { threadId, startFrame, levels: FRAME_PAGE });
  const frames = (body?.stackFrames ?? []).map((f, i) => toFrame(f, startFrame + i, pathMappings));
  return { frames, totalFrames: body?.totalFrames };
}

export function toFrame(f: P.StackFrame, index: number, pathMappings: readonly PathMapping[]): Frame {
  const remotePath = f.source?.path ?? null;
  return {
    index,
    id: f.id,
    name: f.name,
    remotePath,
    path: remotePath === null ? null : toLocalPath(remotePath, pathMappings),
    sourceName: remotePath === null ? (f.source?.name ?? null) : null,
    sourceReference: f.source?.sourceReference ?? 0,
    line: f.line,
    column: f.column,
  };
}

/** What the exception behind a stop was (null when the server would not say: the stop is still worth showing). */
export async function fetchException(session: DapSession, threadId: number): Promise<Stop['exception'] | null> {
  try {
    const info = await session.request<P.ExceptionInfoResponse['body']>('exceptionInfo', { threadId });
    return { id: info.exceptionId, ...(info.description ? { description: info.description } : {}) };
  } catch {
    return null;
  }
}

// Source maps for scripts V8 loaded: inline (data: URLs) and external files, read lazily and cached per script.
// Maps original (e.g. .ts) positions to generated ones for breakpoints, and generated to original for stacks.

import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TraceMap, allGeneratedPositionsFor, originalPositionFor, sourceContentFor, GREATEST_LOWER_BOUND, LEAST_UPPER_BOUND } from '@jridgewell/trace-mapping';
import { scriptPath, samePath } from './translate/paths.js';

export interface MappedScript {
  map: TraceMap;
  /** Absolute file paths of the map's sources (null where a source is not a file). */
  sourcePaths: (string | null)[];
}

/** The longest distance, in lines, a breakpoint moves down to reach a line that has code. */
const SNAP_LINES = 20;
const MAX_MAP_BYTES = 64 * 1024 * 1024;

export class SourceMaps {
  readonly #cache = new Map<string, MappedScript | null>();

  /** The map of a script (`scriptUrl` as V8 names it, `sourceMapURL` from scriptParsed), or null if none/unreadable. */
  load(scriptId: string, scriptUrl: string, sourceMapURL: string): MappedScript | null {
    if (!sourceMapURL) return null;
    const cached = this.#cache.get(scriptId);
    if (cached !== undefined) return cached;
    let result: MappedScript | null = null;
    try {
      const { text, mapUrl } = readMap(scriptUrl, sourceMapURL);
      const map = new TraceMap(text, mapUrl);
      const sourcePaths = map.resolvedSources.map((s) => scriptPath(s));
      result = { map, sourcePaths };
    } catch {
      result = null; // a broken or missing map: the script is shown as JavaScript
    }
    this.#cache.set(scriptId, result);
    return result;
  }

  forget(scriptId: string): void {
    this.#cache.delete(scriptId);
  }

  /** The index of `path` among the map's sources, or -1. */
  static sourceIndex(mapped: MappedScript, path: string): number {
    return mapped.sourcePaths.findIndex((p) => p !== null && samePath(p, path));
  }

  /**
   * Generated position (0-based line and column) for an original 1-based line, moving down at most SNAP_LINES
   * lines to a line that has code. Null when none.
   */
  static generatedFor(mapped: MappedScript, sourceIndex: number, line: number): { line: number; column: number; originalLine: number } | null {
    const source = mapped.map.sources[sourceIndex] ?? '';
    for (let l = line; l < line + SNAP_LINES; l++) {
      const all = allGeneratedPositionsFor(mapped.map, { source, line: l, column: 0, bias: LEAST_UPPER_BOUND });
      const first = all.filter((p) => p.line !== null).sort((a, b) => a.line - b.line || a.column - b.column)[0];
      if (first) return { line: first.line - 1, column: first.column, originalLine: l };
    }
    return null;
  }

  /** Original position (1-based line and column) of a 0-based generated position, or null when unmapped. */
  static originalFor(mapped: MappedScript, line: number, column: number): { path: string | null; source: string; line: number; column: number } | null {
    let pos = originalPositionFor(mapped.map, { line: line + 1, column, bias: GREATEST_LOWER_BOUND });
    if (pos.source === null) pos = originalPositionFor(mapped.map, { line: line + 1, column, bias: LEAST_UPPER_BOUND });
    if (pos.source === null || pos.line === null) return null;
    const index = mapped.map.resolvedSources.indexOf(pos.source);
    return { path: index >= 0 ? (mapped.sourcePaths[index] ?? null) : scriptPath(pos.source), source: pos.source, line: pos.line, column: (pos.column ?? 0) + 1 };
  }

  static contentFor(mapped: MappedScript, path: string): string | null {
    const index = SourceMaps.sourceIndex(mapped, path);
    if (index < 0) return null;
    return sourceContentFor(mapped.map, mapped.map.sources[index] ?? '') ?? null;
  }
}

function readMap(scriptUrl: string, sourceMapURL: string): { text: string; mapUrl: string } {
  const base = scriptUrl.startsWith('file://') ? scriptUrl : scriptPath(scriptUrl) ? pathToFileURL(scriptUrl).href : scriptUrl;
  if (sourceMapURL.startsWith('data:')) {
    const comma = sourceMapURL.indexOf(',');
    const meta = sourceMapURL.slice(5, comma);
    const data = sourceMapURL.slice(comma + 1);
    const text = meta.endsWith(';base64') ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
    return { text, mapUrl: base };
  }
  const mapUrl = new URL(sourceMapURL, base).href;
  if (!mapUrl.startsWith('file://')) throw new Error('only file source maps are read');
  const text = readFileSync(fileURLToPath(mapUrl), 'utf8');
  if (text.length > MAX_MAP_BYTES) throw new Error('source map too large');
  return { text, mapUrl };
}

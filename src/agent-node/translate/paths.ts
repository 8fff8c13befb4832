// Pure path matching between a client's paths and the scripts V8 loaded: exact, pathMappings, and the file-name
// heuristic (same file name, longest common directory suffix). Client paths may be Windows paths.

import { fileURLToPath, pathToFileURL } from 'node:url';

export interface PathMapping {
  localRoot: string;
  remoteRoot: string;
}

/** Forward slashes, no trailing slash, drive letter lower-cased (`C:\A\b.js` → `c:/A/b.js`). */
export function normalize(path: string): string {
  let p = path.replace(/\\/g, '/');
  if (/^[A-Za-z]:\//.test(p)) p = p[0]!.toLowerCase() + p.slice(1);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

export function baseName(path: string): string {
  const p = normalize(path);
  return p.slice(p.lastIndexOf('/') + 1);
}

/** A client path → the agent's path through pathMappings (longest localRoot first); unchanged if none applies. */
export function toRemote(clientPath: string, mappings: readonly PathMapping[]): string {
  const client = normalize(clientPath);
  const sorted = [...mappings].sort((a, b) => b.localRoot.length - a.localRoot.length);
  for (const m of sorted) {
    const local = normalize(m.localRoot);
    if (client === local || client.startsWith(`${local}/`) || (local === '/' && client.startsWith('/'))) {
      const rest = client.slice(local === '/' ? 1 : local.length).replace(/^\//, '');
      const remote = normalize(m.remoteRoot);
      return rest ? `${remote}/${rest}` : remote;
    }
  }
  return clientPath;
}

/** The agent's path → the client's path (reverse of toRemote), for stack frames. */
export function toClient(remotePath: string, mappings: readonly PathMapping[]): string {
  const remote = normalize(remotePath);
  const sorted = [...mappings].sort((a, b) => b.remoteRoot.length - a.remoteRoot.length);
  for (const m of sorted) {
    const root = normalize(m.remoteRoot);
    if (remote === root || remote.startsWith(`${root}/`)) {
      const rest = remote.slice(root.length).replace(/^\//, '');
      const local = m.localRoot.replace(/[\\/]+$/, '');
      const sep = /^[A-Za-z]:\\|\\/.test(m.localRoot) ? '\\' : '/';
      return rest ? `${local}${sep}${rest.split('/').join(sep)}` : local;
    }
  }
  return remotePath;
}

/** A script URL as V8 reports it (`file:///a/b.mjs`, `/a/b.js`, `node:fs`) → a file path, or null. */
export function scriptPath(url: string): string | null {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      return null;
    }
  }
  if (url.startsWith('/') || /^[A-Za-z]:[\\/]/.test(url)) return url;
  return null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A urlRegex that matches the script at `path` whether V8 names it by path (CommonJS) or file URL (ESM). */
export function exactUrlRegex(path: string): string {
  return `^(?:${escapeRegExp(path)}|${escapeRegExp(pathToFileURL(path).href)})$`;
}

/** A urlRegex matching any script with this file name (the heuristic for files not loaded yet). */
export function fileNameUrlRegex(name: string): string {
  const encoded = encodeURIComponent(name);
  return `(?:^|[/\\\\])(?:${escapeRegExp(name)}${encoded !== name ? `|${escapeRegExp(encoded)}` : ''})$`;
}

/**
 * The heuristic: among `candidates` (agent paths), the ones with the same file name as `wanted`, best first by the
 * number of trailing directory names they share with it. Empty when no file has that name.
 */
export function rankByFileName(wanted: string, candidates: Iterable<string>): string[] {
  const want = normalize(wanted).split('/').reverse();
  const scored: { path: string; score: number }[] = [];
  for (const candidate of candidates) {
    const parts = normalize(candidate).split('/').reverse();
    if (parts[0] !== want[0]) continue;
    let score = 1;
    while (score < parts.length && score < want.length && parts[score] === want[score]) score++;
    scored.push({ path: candidate, score });
  }
  return scored.sort((a, b) => b.score - a.score || a.path.length - b.path.length).map((s) => s.path);
}

/** Same path, ignoring separator style and (on Windows-looking paths) case. */
export function samePath(a: string, b: string): boolean {
  const x = normalize(a);
  const y = normalize(b);
  if (x === y) return true;
  return /^[a-z]:\//.test(x) && x.toLowerCase() === y.toLowerCase();
}

export interface TargetChoice {
  /** The agent's file the breakpoint goes in, or null when no match is loaded or on disk (wait for one to load). */
  target: string | null;
  /** Set when several files matched: which one was chosen, for the breakpoint's message. */
  note?: string;
}

/**
 * Which file a client path means. Loaded code first: the exact path, then pathMappings, then the file-name heuristic
 * among loaded scripts; only then files on disk that nothing loaded (the exact path, then the mapped one). A file the
 * program runs beats a file of the same name that merely exists (two checkouts on one machine, bind mounts).
 */
export function chooseTarget(clientPath: string, mappings: readonly PathMapping[], loaded: readonly string[], exists: (path: string) => boolean): TargetChoice {
  const isLoaded = (p: string): boolean => loaded.some((l) => samePath(l, p));
  const named: string[] = [];
  if (!/^[A-Za-z]:[\\/]|^\\\\/.test(clientPath)) named.push(clientPath);
  const mapped = toRemote(clientPath, mappings);
  if (mapped !== clientPath && !named.some((n) => samePath(n, mapped))) named.push(mapped);
  const guess = rankByFileName(mapped, loaded)[0];
  const matches: string[] = [];
  const add = (p: string): void => {
    if (!matches.some((m) => samePath(m, p))) matches.push(p);
  };
  named.filter(isLoaded).forEach(add);
  if (guess !== undefined) add(guess);
  named.filter((p) => !isLoaded(p) && exists(p)).forEach(add);
  const target = matches[0] ?? null;
  if (target === null || matches.length === 1) return { target };
  const shown = (p: string): string => (isLoaded(p) ? p : `${p} (not loaded)`);
  return { target, note: `using ${shown(target)}; also matched ${matches.slice(1, 4).map(shown).join(', ')}` };
}

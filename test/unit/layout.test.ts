// The TypeScript rooms and their one-way doors (docs/architecture.md), checked on the sources: every relative
// import (`from '...'`, `import '...'`, `import('...')`, `require('...')`, type-only imports included) is an edge.
// CommonJS sources (.cts, compiled to .cjs) are files like the others.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/paths.js';

const MAX_LINES = 600;

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return tsFiles(path);
    return e.isFile() && /\.c?ts$/.test(e.name) && !/\.d\.c?ts$/.test(e.name) ? [path] : [];
  });
}

/** The repository-relative .ts/.cts files a source file imports (relative specifiers only; packages and node: are not ours). */
export function importsOf(file: string, source: string): string[] {
  const specifiers = [...source.matchAll(/(?:\bfrom\s+|\bimport\s+|\bimport\(\s*|\brequire\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(ROOT, resolve(join(ROOT, dirname(file)), s)).replace(/\\/g, '/').replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts'));
}

/** Lines as `wc -l` counts them, plus a last line without its newline. */
function lineCount(text: string): number {
  const parts = text.split('\n');
  return text.endsWith('\n') ? parts.length - 1 : parts.length;
}

function graph(files: string[]): Map<string, string[]> {
  return new Map(files.map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), 'utf8'))]));
}

/** Every cycle's files in order, found by depth-first search (each cycle reported once, from its first file met). */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (node: string): void => {
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (onStack.has(next)) found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!done.has(next) && edges.has(next)) visit(next);
    }
    stack.pop();
    onStack.delete(node);
    done.add(node);
  };
  for (const node of [...edges.keys()].sort()) if (!done.has(node)) visit(node);
  return found;
}

const src = graph(tsFiles('src'));
const room = (file: string): string => file.split('/')[1] ?? '';

function crossings(from: (r: string) => boolean, to: (r: string) => boolean): string[] {
  return [...src].flatMap(([file, targets]) => (from(room(file)) ? targets.filter((t) => to(room(t))).map((t) => `${file} -> ${t}`) : []));
}

test('the import checker sees every kind of relative import', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from '../b/b.js';",
    "export { c } from './c.js';",
    "import './d.js';",
    "const e = await import('./e.js');",
    "import { f } from 'node:fs';",
    "import { g } from './g.cjs';",
    "const h = require('../h.js') as H;",
  ].join('\n');
  assert.deepEqual(importsOf('src/x/y.ts', text), ['src/x/a.ts', 'src/b/b.ts', 'src/x/c.ts', 'src/x/d.ts', 'src/x/e.ts', 'src/x/g.cts', 'src/h.ts']);
  const loop = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  assert.deepEqual(cycles(loop), [['a', 'b', 'c', 'a']]);
});

test('the room checks see files in every room', () => {
  const rooms = new Set([...src.keys()].map(room));
  for (const r of ['protocol', 'server', 'client', 'cli', 'bridge', 'agent-node', 'hub']) assert.ok(rooms.has(r), `src/${r} has .ts files`);
  for (const [file, targets] of src) for (const t of targets) assert.ok(src.has(t), `${file} imports ${t}, which exists`);
});

test('no import cycles in src/ (type-only imports count)', () => {
  assert.deepEqual(cycles(src).map((c) => c.join(' -> ')), []);
});

test('src/protocol imports nothing of ours outside src/protocol', () => {
  assert.deepEqual(crossings((r) => r === 'protocol', (r) => r !== 'protocol'), []);
});

test('the Node agent and the client never import each other', () => {
  assert.deepEqual(crossings((r) => r === 'agent-node', (r) => r === 'client'), []);
  assert.deepEqual(crossings((r) => r === 'client', (r) => r === 'agent-node'), []);
});

test('the client and the server meet only in src/protocol', () => {
  assert.deepEqual(crossings((r) => r === 'client', (r) => r === 'server'), []);
  assert.deepEqual(crossings((r) => r === 'server', (r) => r === 'client' || r === 'agent-node' || r === 'cli' || r === 'bridge'), []);
});

test('the CLI and the editor bridge use neither the Node agent nor the server', () => {
  assert.deepEqual(crossings((r) => r === 'cli' || r === 'bridge', (r) => r === 'agent-node' || r === 'server'), []);
});

test('the hub (longreach listen) uses only protocol, server and client pieces, and only the CLI starts it', () => {
  assert.deepEqual(crossings((r) => r === 'hub', (r) => !['hub', 'protocol', 'server', 'client'].includes(r)), []);
  assert.deepEqual(crossings((r) => r !== 'hub' && r !== 'cli', (r) => r === 'hub'), []);
});

test(`every .ts file under src/ and test/ is under ${MAX_LINES} lines`, () => {
  const long = [...tsFiles('src'), ...tsFiles('test')]
    .map((f) => ({ f, lines: lineCount(readFileSync(join(ROOT, f), 'utf8')) }))
    .filter(({ lines }) => lines >= MAX_LINES)
    .map(({ f, lines }) => `${f}: ${lines} lines`);
  assert.deepEqual(long, []);
});

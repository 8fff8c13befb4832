// The Node agent with a 100 MB string in scope: variables (a local, an object's property, a getter, an array
// element, a Map value) and evaluate (an expression, a hover, statements) answer with its summary and length, and
// no answer from V8's inspector carries the string: the agent's CDP log (LONGREACH_LOG=cdp) records the size of
// every answer that crossed from the program's thread.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { FIXTURES, attachTo, launch, within } from './agent-node-helpers.js';

const PROGRAM = join(FIXTURES, 'long-string.mjs');
const SUMMARY = /^"y{1000}"… \(104,857,600 chars\)$/;
/** Far above any summary (about 1 KB each), far below the string (100 MB). */
const MAX_ANSWER_CHARS = 64 * 1024;

test('a 100 MB string: variables and evaluate show its summary and length, and it never crosses whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-long-string-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, 'cdp.log');
  const program = await launch(t, PROGRAM, [], { LONGREACH_LOG: 'cdp', LONGREACH_LOG_FILE: logFile });
  const s = await attachTo(t, program);
  await s.request('setBreakpoints', { source: { path: PROGRAM }, breakpoints: [{ line: markerLine(PROGRAM, 'stop-here') }] });
  const stopped = s.waitForEvent('stopped', { timeoutMs: 30_000 });
  await s.request('configurationDone');
  await stopped;
  const { stackFrames } = await s.request('stackTrace', { threadId: 1, levels: 1 });
  const frameId = stackFrames[0].id;
  const { scopes } = await s.request('scopes', { frameId });
  const children = async (ref: number) => new Map<string, any>((await s.request('variables', { variablesReference: ref })).variables.map((x: any) => [x.name, x]));

  const locals = await children(scopes[0].variablesReference);
  assert.equal(locals.get('huge').type, 'string');
  assert.match(locals.get('huge').value, SUMMARY);
  assert.equal(locals.get('huge').variablesReference, 0);
  // a real string that starts with the agent's mark is shown as itself
  assert.equal(locals.get('marked').value, JSON.stringify('\u0000longreach:long-string:3:abc'));

  const holder = await children(locals.get('holder').variablesReference);
  assert.match(holder.get('huge').value, SUMMARY);
  assert.equal(holder.get('small').value, '"ok"');
  assert.equal(holder.get('lazy').type, 'getter');
  const lazy = await children(holder.get('lazy').variablesReference);
  assert.match(lazy.get('lazy').value, SUMMARY);
  const list = await children(locals.get('list').variablesReference);
  assert.deepEqual([list.get('0').value, list.get('1').type], ['"a"', 'string']);
  assert.match(list.get('1').value, SUMMARY);
  const map = await children(locals.get('map').variablesReference);
  assert.match(map.get('"k"').value, SUMMARY);

  for (const [expression, context] of [['huge', 'repl'], ['holder.huge;', 'watch'], ['holder.huge', 'hover'], ['let q = huge; q', 'repl']]) {
    const r = await s.request('evaluate', { expression, frameId, context });
    assert.equal(r.type, 'string', expression);
    assert.match(r.result, SUMMARY, expression);
  }
  assert.equal((await s.request('evaluate', { expression: 'huge.length', frameId, context: 'repl' })).result, '104857600');

  const answers = [...readFileSync(logFile, 'utf8').matchAll(/cdp (\S+) answered (\d+) chars/g)].map((m) => ({ method: m[1]!, chars: Number(m[2]) }));
  assert.ok(answers.some((a) => a.method === 'Runtime.getProperties') && answers.some((a) => a.method === 'Debugger.evaluateOnCallFrame'), 'the CDP log records the answers');
  const biggest = answers.reduce((a, b) => (b.chars > a.chars ? b : a));
  assert.ok(biggest.chars < MAX_ANSWER_CHARS, `${biggest.method} answered ${biggest.chars} chars: the string crossed whole`);

  await s.request('continue', { threadId: 1 });
  assert.equal(await within(program.exited, 30_000, 'program end'), 0);
  assert.match(program.stdout(), /total 104857633/);
});

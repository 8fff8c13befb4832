// The Node agent with big values: typed arrays, Buffers, Maps and Sets of a million entries, a 5M-char string and
// a 2M-element array are summarised and paged (indexedVariables, start/count) without asking V8 for every element.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { FIXTURES, attachTo, launch, within } from './agent-node-helpers.js';

const BIG = join(FIXTURES, 'big-values.mjs');

test('typed arrays, Buffers, Maps, Sets, long strings and arrays: counts, pages, no whole copies', async (t) => {
  const program = await launch(t, BIG);
  const s = await attachTo(t, program);
  await s.request('setBreakpoints', { source: { path: BIG }, breakpoints: [{ line: markerLine(BIG, 'stop-here') }] });
  const stopped = s.waitForEvent('stopped', { timeoutMs: 30_000 });
  await s.request('configurationDone');
  await stopped;
  const { stackFrames } = await s.request('stackTrace', { threadId: 1, levels: 1 });
  const { scopes } = await s.request('scopes', { frameId: stackFrames[0].id });
  const { variables } = await s.request('variables', { variablesReference: scopes[0].variablesReference });
  const v = new Map<string, any>(variables.map((x: any) => [x.name, x]));
  assert.deepEqual([v.get('floats').value, v.get('floats').indexedVariables], ['Float64Array(10000000)', 10_000_000]);
  assert.deepEqual([v.get('bytes').value, v.get('bytes').indexedVariables], ['Buffer(10000000)', 10_000_000]);
  assert.deepEqual([v.get('map').value, v.get('map').indexedVariables], ['Map(1000000)', 1_000_000]);
  assert.deepEqual([v.get('set').value, v.get('set').indexedVariables], ['Set(1000000)', 1_000_000]);
  assert.equal(v.get('list').indexedVariables, 2_000_000);
  assert.match(v.get('text').value, /^"x{1000}"… \(5,000,000 chars\)$/);
  const page = async (name: string, args: object) => (await s.request('variables', { variablesReference: v.get(name).variablesReference, ...args })).variables;
  const tail = await page('floats', { filter: 'indexed', start: 9_999_998, count: 2 });
  assert.deepEqual(tail.map((x: any) => [x.name, x.value]), [['9999998', '0'], ['9999999', '7.5']]);
  // an unfiltered, unpaged request gets one bounded page and the named properties, not ten million children
  const first = await page('bytes', {});
  assert.equal(first.filter((x: any) => /^\d+$/.test(x.name)).length, 1000);
  assert.equal(first.length < 1100, true);
  const named = await page('floats', { filter: 'named' });
  assert.equal(named.some((x: any) => /^\d+$/.test(x.name)), false);
  const entries = await page('map', { filter: 'indexed', start: 999_998, count: 5 });
  assert.deepEqual(entries.map((x: any) => [x.name, x.value]), [['"k999998"', '999998'], ['"k999999"', '999999']]);
  assert.equal(entries[0].evaluateName, 'map.get("k999998")');
  const members = await page('set', { filter: 'indexed', start: 10, count: 3 });
  assert.deepEqual(members.map((x: any) => [x.name, x.value]), [['10', '20'], ['11', '22'], ['12', '24']]);
  assert.deepEqual(await page('map', { filter: 'named' }), []);
  const unpaged = await page('set', {});
  assert.equal(unpaged.length, 1000);
  await s.request('continue', { threadId: 1 });
  assert.equal(await within(program.exited, 30_000, 'program end'), 0);
  assert.match(program.stdout(), /total 29000000/);
});

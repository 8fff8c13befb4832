// TypeScript through source maps, and breakpoints in modules that load later.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { BUILT_FIXTURES, FIXTURES, attachTo, launch, within } from './agent-node-helpers.js';

const TS_APP = join(FIXTURES, 'ts/app.ts');
const TS_LATER = join(FIXTURES, 'ts/later.ts');

test('a breakpoint in a .ts file stops there, and the stack shows .ts paths and lines', async (t) => {
  const program = await launch(t, join(BUILT_FIXTURES, 'ts/app.js'));
  const s = await attachTo(t, program);
  const line = markerLine(TS_APP, 'ts-area');
  const { breakpoints } = await s.request('setBreakpoints', { source: { path: TS_APP }, breakpoints: [{ line }] });
  assert.equal(breakpoints.length, 1);
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  assert.equal((await stopped).reason, 'breakpoint');
  const { stackFrames } = await s.request('stackTrace', { threadId: 1 });
  assert.equal(stackFrames[0].source.path, TS_APP);
  assert.equal(stackFrames[0].line, line);
  assert.equal(stackFrames[0].name, 'area');
  assert.equal(stackFrames[1].source.path, TS_APP);
  const scopes = await s.request('scopes', { frameId: stackFrames[0].id });
  const locals = await s.request('variables', { variablesReference: scopes.scopes[0].variablesReference });
  const p = locals.variables.find((v: { name: string }) => v.name === 'p');
  assert.ok(p, JSON.stringify(locals));
  const source = await s.request('source', { source: { path: TS_APP } });
  assert.match(source.content, /interface Point/);
  await s.request('setBreakpoints', { source: { path: TS_APP }, breakpoints: [] });
  await s.request('continue', { threadId: 1 });
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
  assert.match(program.stdout(), /ts result 42 value=42/);
});

test('a breakpoint in a .ts module loaded later becomes verified and is hit', async (t) => {
  const program = await launch(t, join(BUILT_FIXTURES, 'ts/app.js'));
  const s = await attachTo(t, program);
  const line = markerLine(TS_LATER, 'ts-later');
  const verified = s.waitForEvent('breakpoint', { timeoutMs: 15_000, predicate: (b: any) => b.breakpoint.verified === true });
  const { breakpoints } = await s.request('setBreakpoints', { source: { path: TS_LATER }, breakpoints: [{ line }] });
  assert.equal(breakpoints[0].verified, false);
  assert.match(breakpoints[0].message, /not loaded yet/);
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  assert.equal((await verified).breakpoint.line, line);
  assert.equal((await stopped).reason, 'breakpoint');
  const { stackFrames } = await s.request('stackTrace', { threadId: 1 });
  assert.equal(stackFrames[0].source.path, TS_LATER);
  assert.equal(stackFrames[0].line, line);
  const value = await s.request('evaluate', { expression: 'value', frameId: stackFrames[0].id, context: 'watch' });
  assert.equal(value.result, '42');
  await s.disconnect();
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
});

test('a breakpoint in a JavaScript module imported later binds when it loads (file-name heuristic from another machine)', async (t) => {
  const program = await launch(t, join(FIXTURES, 'later.mjs'));
  const s = await attachTo(t, program);
  const line = markerLine(join(FIXTURES, 'later-module.mjs'), 'later-body');
  // The client's copy lives elsewhere (a Windows checkout): matched by file name.
  const clientPath = 'C:\\work\\checkout\\test\\fixtures\\node\\later-module.mjs';
  const verified = s.waitForEvent('breakpoint', { timeoutMs: 15_000, predicate: (b: any) => b.breakpoint.verified === true });
  const { breakpoints } = await s.request('setBreakpoints', { source: { path: clientPath }, breakpoints: [{ line }] });
  assert.equal(breakpoints[0].verified, false);
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  await verified;
  assert.equal((await stopped).reason, 'breakpoint');
  const { stackFrames } = await s.request('stackTrace', { threadId: 1 });
  assert.equal(stackFrames[0].name, 'twice');
  assert.equal(stackFrames[0].line, line);
  await s.disconnect();
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
  assert.match(program.stdout(), /later result 42/);
});

test('a breakpoint past the end of a loaded script says so, not that the script has not loaded', async (t) => {
  const program = await launch(t, join(FIXTURES, 'conformance/app.mjs'));
  const s = await attachTo(t, program);
  await s.request('setBreakpoints', { source: { path: join(FIXTURES, 'conformance/app.mjs') }, breakpoints: [{ line: markerLine(join(FIXTURES, 'conformance/app.mjs'), 'loop-body') }] });
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  await stopped;
  // app.mjs and the helper.mjs it imports are loaded now
  const { breakpoints } = await s.request('setBreakpoints', { source: { path: join(FIXTURES, 'conformance/helper.mjs') }, breakpoints: [{ line: 9999 }] });
  assert.equal(breakpoints[0].verified, false);
  assert.equal(breakpoints[0].message, 'line 9999 of helper.mjs has no code (past its end)');
  await s.disconnect();
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
});

test('pathMappings translate client paths to agent paths and back', async (t) => {
  const program = await launch(t, join(FIXTURES, 'conformance/app.mjs'));
  const s = await (await import('../conformance/harness.js')).connectTo(program);
  t.after(() => s.close());
  const initialized = s.waitForEvent('initialized', { timeoutMs: 15_000 });
  await s.request('attach', { pathMappings: [{ localRoot: 'C:\\Users\\me\\proj', remoteRoot: join(FIXTURES, 'conformance') }] });
  await initialized;
  const line = markerLine(join(FIXTURES, 'conformance/app.mjs'), 'loop-body');
  await s.request('setBreakpoints', { source: { path: 'C:\\Users\\me\\proj\\app.mjs' }, breakpoints: [{ line }] });
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  await stopped;
  const { stackFrames } = await s.request('stackTrace', { threadId: 1, levels: 1 });
  assert.equal(stackFrames[0].source.path, 'C:\\Users\\me\\proj\\app.mjs');
  await s.disconnect();
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
});

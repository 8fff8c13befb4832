// TypeScript compiled with inline source maps (`//# sourceMappingURL=data:application/json;base64,...`): the
// fixture is compiled at test time with the repo's own tsc into a temporary directory.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { markerLine } from '../conformance/agents.js';
import { FIXTURES, attachTo, launch, within } from './agent-node-helpers.js';

const TS_APP = join(FIXTURES, 'ts/app.ts');
const TS_LATER = join(FIXTURES, 'ts/later.ts');

function compileInline(): string {
  const out = mkdtempSync(join(tmpdir(), 'longreach-inline-'));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const flags = ['--inlineSourceMap', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', '--strict'];
  execFileSync(process.execPath, [tsc, ...flags, '--outDir', out, TS_APP, TS_LATER], { cwd: ROOT, stdio: 'pipe' });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  return out;
}

test('inline source maps: a breakpoint in the .ts file stops there and the stack shows .ts locations', async (t) => {
  const out = compileInline();
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const app = join(out, 'app.js');
  assert.match(readFileSync(app, 'utf8'), /sourceMappingURL=data:application\/json;base64,/);
  const program = await launch(t, app);
  const s = await attachTo(t, program);
  const line = markerLine(TS_APP, 'ts-area');
  const laterLine = markerLine(TS_LATER, 'ts-later');
  await s.request('setBreakpoints', { source: { path: TS_APP }, breakpoints: [{ line }] });
  await s.request('setBreakpoints', { source: { path: TS_LATER }, breakpoints: [{ line: laterLine }] });
  let stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  assert.equal((await stopped).reason, 'breakpoint');
  let { stackFrames } = await s.request('stackTrace', { threadId: 1 });
  assert.equal(stackFrames[0].source.path, TS_APP);
  assert.equal(stackFrames[0].line, line);
  assert.equal(stackFrames[0].name, 'area');
  assert.equal(stackFrames[1].source.path, TS_APP);
  // The module loaded later carries its own inline map.
  stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('continue', { threadId: 1 });
  assert.equal((await stopped).reason, 'breakpoint');
  ({ stackFrames } = await s.request('stackTrace', { threadId: 1 }));
  assert.equal(stackFrames[0].source.path, TS_LATER);
  assert.equal(stackFrames[0].line, laterLine);
  await s.disconnect();
  assert.equal(await within(program.exited, 15_000, 'program end'), 0);
  assert.match(program.stdout(), /ts result 42 value=42/);
});

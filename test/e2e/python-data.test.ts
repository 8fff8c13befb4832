// Data values end to end: a real training-step program on the system Python with Debian's numpy, pandas and
// torch (scripts/setup-debian.sh installs them), stopped inside the step; read through the CLI (batch text and
// --json) and through a DAP client. Summaries instead of reprs, paging, lazy statistics, `table`, `stats`, hostile
// values, and a runaway evaluation that is interrupted while the program carries on unchanged.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect, type ClientSession } from '../../src/client/connect.js';
import { LongreachError } from '../../src/protocol/errors.js';
import { runCli } from '../helpers/cli.js';
import { trackChild } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';
import { freePort, waitForPort } from '../helpers/ports.js';

const SYSTEM_PYTHON = '/usr/bin/python3';
const FIXTURE = join(ROOT, 'test/fixtures/python/data_scene.py');
const LINE = readFileSync(FIXTURE, 'utf8').split('\n').findIndex((l) => l.includes('BREAK-HERE')) + 1;
const TIMEOUT_MS = 60_000;

async function startScene(t: TestContext): Promise<{ port: number; exited: Promise<number | string>; stdout: () => string }> {
  const port = await freePort();
  const child = spawn(SYSTEM_PYTHON, ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_TEST_SECRET', '--wait', FIXTURE], {
    cwd: ROOT,
    env: { ...process.env, LR_TEST_SECRET: 'data-secret', PYTHONPATH: join(ROOT, 'python'), LONGREACH_EVAL_BUDGET: '3' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = trackChild(t, child);
  await waitForPort(port, child, 60_000);
  return { port, exited: proc.exited, stdout: proc.stdout };
}

test('CLI: locals, p, x, table and stats on a stopped training step; while True is interrupted; the program ends normally', async (t) => {
  const scene = await startScene(t);
  const script = [
    'locals',
    'p df',
    'x big6 2 2',
    'x df 4999998 2',
    'table df 2000000:5',
    'table w 2',
    'stats w',
    'stats df',
    'stats meta',
    'table items',
    'p while True: pass',
    'p 1 + 1',
    'p side.bumped if False else 0',
    'continue',
  ].join('\n');
  const r = await runCli(['attach', `tcp://127.0.0.1:${scene.port}`, '--secret-env', 'LR_CLI_SECRET', '--break', `${FIXTURE}:${LINE}`, '--batch', '-', '--timeout', '60'], { input: script, env: { LR_CLI_SECRET: 'data-secret' }, timeoutMs: 120_000 });
  const out = r.stdout;
  assert.match(out, /^big6 = ndarray float32 \(6, 6, 6, 6, 6, 6, 6, 6, 6, 6\) 60\.5M items 242 MB {2}\(ndarray float32, 6 items, expand: x \$\d+\)$/m);
  assert.match(out, /^floats = ndarray float32 \(100000000,\) 100M items 400 MB/m);
  assert.match(out, /^df = DataFrame 5,000,000 rows × 2 columns \(a int64, b float64\) 80 MB/m);
  assert.match(out, /^w = Tensor float32 \[4096, 1024\] cpu 4\.19M items 16\.8 MB requires_grad /m);
  assert.match(out, /^y = Tensor float32 \[4096, 1024\] cpu 4\.19M items 16\.8 MB requires_grad grad_fn=AddBackward0/m);
  assert.match(out, /^zero_d = Tensor float32 \[\] cpu 3\.5/m);
  assert.match(out, /^meta = Tensor float32 \[1000, 1000\] meta 1M items 4 MB/m);
  assert.match(out, /^rec = ndarray \[\('x', '<i4'\), \('y', '<f8'\)\] \(2,\) 2 items 24 B/m);
  assert.match(out, /^hangs = <not shown: its repr ran past the 1 s budget and was interrupted>/m);
  assert.match(out, /^badlen = \[1, 2\]/m);
  assert.match(out, /^items = \[0, 1, 2, .*\.\.\. \(\d+ more\)\] {2}\(list, 10000000 items/m);
  assert.match(out, /^DataFrame 5,000,000 rows × 2 columns \(a int64, b float64\) 80 MB {2}\(DataFrame, 5000000 items/m);
  assert.match(out, /^2 = ndarray float32 \(6, 6, 6, 6, 6, 6, 6, 6, 6\) 10\.1M items 40\.3 MB/m);
  assert.match(out, /^4999999 = a=4999999, b=1 {2}\(row, expand: x \$\d+\)$/m);
  // table df 2000000:5: an aligned window, then where it is
  assert.match(out, /^ +a +b\n2000000 +2000000 +0\.4\n2000001 +2000001 +0\.4\n/m);
  assert.match(out, /DataFrame: rows 2000000-2000004 of 5,000,000/);
  assert.match(out, /Tensor float32: rows 0-1 of 4,096, 20 of 1024 columns/);
  assert.match(out, /^w +float32 +4194304 +-1 +1 /m);
  assert.match(out, /^a +int64 +5000000 +0 +4999999 /m);
  assert.match(out, /error \[LR_EVAL_FAILED\]: a tensor on the meta device has no data/);
  assert.match(out, /error \[LR_EVAL_FAILED\]: items is a list: only a DataFrame, a Series or an array/);
  assert.match(out, /error \[LR_EVAL_BUDGET\]: evaluation ran past its 3 s budget and was interrupted; .*LONGREACH_EVAL_BUDGET=SECONDS/);
  assert.match(out, /^2 {2}\(int\)$/m);
  assert.equal(await scene.exited, 0);
  assert.match(scene.stdout(), /done loss=4194304\.0 side-calls=0/);
  assert.equal(r.code, 1, 'commands that failed (stats meta, table items, the runaway p) make the exit status 1');
});

test('CLI --json: table and stats results and value hints (documented schema additions)', async (t) => {
  const scene = await startScene(t);
  const script = 'table df 10:2\nstats w\np big6\nx w\n';
  const r = await runCli(['attach', `tcp://127.0.0.1:${scene.port}`, '--secret-env', 'LR_CLI_SECRET', '--break', `${FIXTURE}:${LINE}`, '--batch', '-', '--json', '--timeout', '60'], { input: script, env: { LR_CLI_SECRET: 'data-secret' }, timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((o) => o.type === 'result');
  const table = results.find((o) => o.command === 'table').result;
  assert.deepEqual(table, { kind: 'table', title: 'df', type: 'DataFrame', columns: ['a', 'b'], index: ['10', '11'], rows: [['10', '2e-06'], ['11', '2.2e-06']], start: 10, totalRows: 5000000, totalColumns: 2 });
  const stats = results.find((o) => o.command === 'stats').result;
  assert.equal(stats.kind, 'stats');
  assert.equal(stats.type, 'Tensor float32');
  assert.deepEqual(Object.keys(stats.columns[0]), ['name', 'dtype', 'count', 'min', 'max', 'mean', 'std', 'nan', 'inf']);
  assert.equal(stats.columns[0].count, 4194304);
  const big6 = results.find((o) => o.command === 'print').result.value;
  assert.equal(big6.kind, 'data');
  assert.equal(big6.lazy, false);
  const children = results.find((o) => o.command === 'expand').result.variables as { name: string; lazy: boolean; kind: string | null }[];
  const stat = children.find((c) => c.name === 'statistics')!;
  assert.deepEqual([stat.lazy, stat.kind], [true, 'virtual']);
  assert.equal(children.filter((c) => /^\d+$/.test(c.name)).length, 100, 'an unpaged expand of a tensor shows its first 100 rows');
});

async function dapStop(port: number): Promise<{ session: ClientSession; frameId: number; threadId: number }> {
  const session = await connect(`tcp://data-secret@127.0.0.1:${port}`, { timeoutMs: TIMEOUT_MS });
  const initialized = session.waitForEvent('initialized');
  await session.request('attach', {});
  await initialized;
  const stopped = session.waitForEvent('stopped');
  await session.request('setBreakpoints', { source: { path: FIXTURE }, breakpoints: [{ line: LINE }] });
  await session.request('configurationDone');
  const { threadId } = (await stopped) as { threadId: number };
  const { stackFrames } = await session.request('stackTrace', { threadId, levels: 1 });
  return { session, frameId: stackFrames[0].id, threadId };
}

test('DAP: summaries with type, presentationHint and indexedVariables; paging; lazy statistics; interrupted evaluation', async (t) => {
  const scene = await startScene(t);
  const { session, frameId, threadId } = await dapStop(scene.port);
  t.after(() => session.close());
  assert.deepEqual(session.hello.capabilities.longreachDataRequests, ['longreach/table', 'longreach/stats']);
  const { scopes } = await session.request('scopes', { frameId });
  const { variables } = await session.request('variables', { variablesReference: scopes[0].variablesReference });
  const byName = new Map<string, any>(variables.map((v: any) => [v.name, v]));
  const df = byName.get('df');
  assert.equal(df.value, 'DataFrame 5,000,000 rows × 2 columns (a int64, b float64) 80 MB');
  assert.deepEqual([df.type, df.indexedVariables, df.presentationHint], ['DataFrame', 5000000, { kind: 'data' }]);
  assert.equal(byName.get('zero_d').value, 'Tensor float32 [] cpu 3.5');
  assert.equal(byName.get('zero_d').variablesReference > 0, true);
  assert.equal(byName.get('items').indexedVariables, 10_000_000);
  assert.equal(byName.get('big6').value, 'ndarray float32 (6, 6, 6, 6, 6, 6, 6, 6, 6, 6) 60.5M items 242 MB');
  assert.equal(byName.get('floats').value, 'ndarray float32 (100000000,) 100M items 400 MB');
  assert.match(byName.get('w').value, /^Tensor float32 \[4096, 1024\] cpu 4\.19M items 16\.8 MB requires_grad$/);
  assert.match(byName.get('y').value, / grad_fn=AddBackward0$/);
  assert.equal(byName.get('meta').value, 'Tensor float32 [1000, 1000] meta 1M items 4 MB');
  assert.equal(byName.get('rec').value, "ndarray [('x', '<i4'), ('y', '<f8')] (2,) 2 items 24 B");
  assert.equal(byName.get('hangs').value, '<not shown: its repr ran past the 1 s budget and was interrupted>');
  assert.deepEqual([byName.get('badlen').value, byName.get('badlen').indexedVariables], ['[1, 2]', undefined]);
  assert.equal(byName.get('side').variablesReference, 0, 'a property is not an attribute: nothing to expand, nothing called');
  // VS Code's way: named children first, then indexed chunks
  const named = (await session.request('variables', { variablesReference: byName.get('y').variablesReference, filter: 'named' })).variables;
  assert.deepEqual(named.map((v: any) => v.name), ['dtype', 'shape', 'device', 'requires_grad', 'grad_fn', 'statistics', 'T']);
  const stat = named.find((v: any) => v.name === 'statistics');
  assert.deepEqual(stat.presentationHint, { kind: 'virtual', lazy: true });
  const computed = (await session.request('variables', { variablesReference: stat.variablesReference })).variables;
  assert.match(computed[0].value, /^min=0 max=2 mean=1 std=0\.577/);
  const rows = (await session.request('variables', { variablesReference: df.variablesReference, filter: 'indexed', start: 1000, count: 3 })).variables;
  assert.deepEqual(rows.map((v: any) => v.name), ['1000', '1001', '1002']);
  assert.equal(rows[0].evaluateName, 'df.iloc[1000]');
  const page = (await session.request('variables', { variablesReference: byName.get('floats').variablesReference, filter: 'indexed', start: 99_999_998, count: 5 })).variables;
  assert.deepEqual(page.map((v: any) => v.value), ['float32 0.0', 'float32 0.0']);
  // a runaway evaluation: interrupted, then the session works and the program is unchanged
  const started = Date.now();
  await assert.rejects(session.request('evaluate', { expression: 'while True: pass', frameId, context: 'repl' }), (e: unknown) => e instanceof LongreachError && e.code === 'LR_EVAL_BUDGET' && /interrupted/.test(e.message));
  assert.ok(Date.now() - started < 20_000);
  const two = await session.request('evaluate', { expression: 'y.shape[0] + 1', frameId, context: 'watch' });
  assert.equal(two.result, '4097');
  const table = await session.request('longreach/table', { expression: 'df', frameId, start: 4_999_999, rows: 10 });
  assert.deepEqual([table.index, table.rows], [['4999999'], [['4999999', '1']]]);
  await assert.rejects(session.request('longreach/table', { expression: 'df', frameId, rows: -1 }), (e: unknown) => e instanceof LongreachError && e.code === 'LR_BAD_REQUEST');
  await session.request('continue', { threadId });
  assert.equal(await scene.exited, 0);
  assert.match(scene.stdout(), /done loss=4194304\.0 side-calls=0/);
});

// Pure CDP → DAP translation functions of the Node agent, without V8.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCondition, logMessageExpression, parseHitCondition } from '../../src/agent-node/translate/conditions.js';
import { exceptionInfo, frameName, groupScopes, scopeShape, stopReason } from '../../src/agent-node/translate/frames.js';
import { baseName, chooseTarget, exactUrlRegex, fileNameUrlRegex, normalize, rankByFileName, samePath, scriptPath, toClient, toRemote } from '../../src/agent-node/translate/paths.js';
import { BOUND_VALUE, callArgument, childEvaluateName, formatValue, indexedCount, isExpandable, longString, typeName } from '../../src/agent-node/translate/values.js';

test('hit conditions: the same forms as the Python agent, with advice for bad ones', () => {
  assert.deepEqual(parseHitCondition('5'), { op: '==', n: 5 });
  assert.deepEqual(parseHitCondition(' >= 3 '), { op: '>=', n: 3 });
  assert.deepEqual(parseHitCondition('%2'), { op: '%', n: 2 });
  assert.throws(() => parseHitCondition('often'), /use a number, or ==N/);
  assert.throws(() => parseHitCondition('%0'), /divides by zero/);
});

test('log messages become one expression; {{ }} are literal braces; evaluation errors are shown, not thrown', () => {
  const expr = logMessageExpression('x={x} {{lit}}');
  const x = 4;
  assert.equal(eval(expr), 'x=4 {lit}');
  assert.equal(eval(logMessageExpression('no vars')), 'no vars');
  assert.match(eval(logMessageExpression('{missingName}')), /<ReferenceError: missingName is not defined>/);
  assert.throws(() => logMessageExpression('oops {x'), /unclosed/);
  void x;
});

test('conditions combine condition, hit count and log point', () => {
  assert.equal(buildCondition({ key: 'bp1' }, 'g'), '');
  const calls: string[] = [];
  const counts = new Map<string, number>();
  (globalThis as any)[Symbol.for('g')] = {
    hit: (k: string) => { const n = (counts.get(k) ?? 0) + 1; counts.set(k, n); return n; },
    log: (text: string) => calls.push(text),
  };
  const i = 3;
  const hitOnly = buildCondition({ key: 'a', hitCondition: '2' }, 'g');
  assert.deepEqual([eval(hitOnly), eval(hitOnly), eval(hitOnly)], [false, true, false]);
  const condAndHit = buildCondition({ key: 'b', condition: 'i > 5', hitCondition: '1' }, 'g');
  assert.equal(eval(condAndHit), false);
  assert.equal(counts.get('b'), undefined, 'hits count only where the condition holds');
  const logPoint = buildCondition({ key: 'c', logMessage: 'i is {i}' }, 'g');
  assert.equal(eval(logPoint), false);
  assert.deepEqual(calls, ['i is 3\n']);
  assert.throws(() => buildCondition({ key: 'd', hitCondition: 'x' }, 'g'), /hit condition/);
  void i;
});

test('stop reasons, frame names, scopes and exception info', () => {
  assert.equal(stopReason('other', ['1:2:0'], null), 'breakpoint');
  assert.equal(stopReason('other', [], 'step'), 'step');
  assert.equal(stopReason('exception', [], 'step'), 'exception');
  assert.equal(stopReason('other', [], 'pause'), 'pause');
  assert.equal(frameName('', 'file:///a.mjs'), '(module code)');
  assert.equal(frameName('f', ''), 'f');
  assert.deepEqual(groupScopes(['block', 'local', 'closure', 'module', 'global']), [
    { type: 'local', indexes: [0, 1] }, { type: 'closure', indexes: [2] }, { type: 'module', indexes: [3] }, { type: 'global', indexes: [4] },
  ]);
  assert.deepEqual(groupScopes(['block', 'module', 'global']), [{ type: 'local', indexes: [0, 1] }, { type: 'global', indexes: [2] }]);
  assert.deepEqual(scopeShape('local'), { name: 'Locals', expensive: false, presentationHint: 'locals' });
  assert.equal(scopeShape('global').expensive, true);
  const info = exceptionInfo({ className: 'Error', description: 'Error: boom\n    at f (file:///a.mjs:1:1)' }, true);
  assert.equal(info.breakMode, 'unhandled');
  assert.equal(info.details.message, 'boom');
  assert.equal(info.description, 'Error: boom');
  assert.match(info.details.stackTrace ?? '', /at f/);
});

test('values render like a person reads them, long text is truncated', () => {
  assert.equal(formatValue({ type: 'string', value: 'a"b' }), '"a\\"b"');
  assert.equal(formatValue({ type: 'number', value: 5, description: '5' }), '5');
  assert.equal(formatValue({ type: 'number', unserializableValue: 'NaN', description: 'NaN' }), 'NaN');
  assert.equal(formatValue({ type: 'undefined' }), 'undefined');
  assert.equal(formatValue({ type: 'object', subtype: 'null', value: null }), 'null');
  assert.equal(formatValue({ type: 'object', subtype: 'array', className: 'Array', description: 'Array(300)', objectId: '1' }), 'Array(300)');
  assert.equal(formatValue({ type: 'function', description: 'function add(a, b) {\n return a + b; }', objectId: '1' }), 'ƒ add(a, b)');
  assert.ok(formatValue({ type: 'string', value: 'x'.repeat(5000) }).length < 1100);
  assert.equal(typeName({ type: 'object', className: 'Map', objectId: '1' }), 'Map');
  assert.equal(indexedCount({ type: 'object', subtype: 'array', description: 'Array(300)' }), 300);
  assert.equal(indexedCount({ type: 'object', description: 'Object' }), null);
  assert.equal(isExpandable({ type: 'object', subtype: 'null' }), false);
  assert.equal(isExpandable({ type: 'object', objectId: 'x' }), true);
  assert.deepEqual(callArgument({ type: 'number', value: 3 }), { value: 3 });
  assert.deepEqual(callArgument({ type: 'number', unserializableValue: '-0' }), { unserializableValue: '-0' });
  assert.deepEqual(callArgument({ type: 'object', objectId: 'o' }), { objectId: 'o' });
  assert.equal(childEvaluateName('a', '3'), 'a[3]');
  assert.equal(childEvaluateName('a', 'b'), 'a.b');
  assert.equal(childEvaluateName('a', 'x y'), 'a["x y"]');
  assert.equal(childEvaluateName(undefined, 'b'), undefined);
});

test('long strings: the bounding function run in the program and the summary shown for its mark form', () => {
  const bound = (0, eval)(BOUND_VALUE) as (v: unknown) => unknown;
  const long = 'x'.repeat(5000);
  const marked = bound(long) as string;
  assert.ok(marked.length < 1100);
  assert.deepEqual(longString(marked), { length: 5000, head: 'x'.repeat(1000) });
  // the same text as for the whole string
  assert.equal(formatValue({ type: 'string', value: marked }), formatValue({ type: 'string', value: long }));
  assert.equal(bound('short'), 'short');
  assert.equal(bound(42), 42);
  // a real string that starts with the mark is sent marked too, and shown as itself
  const lookalike = (bound('\u0000longreach:long-string:3:abc') as string);
  assert.equal(formatValue({ type: 'string', value: lookalike }), JSON.stringify('\u0000longreach:long-string:3:abc'));
  assert.equal(longString('plain'), null);
});

test('paths: Windows client paths, pathMappings both ways, file URLs, the file-name heuristic', () => {
  assert.equal(normalize('C:\\Proj\\app.js'), 'c:/Proj/app.js');
  assert.equal(baseName('C:\\Proj\\app.js'), 'app.js');
  const mappings = [{ localRoot: 'C:\\Users\\me\\proj', remoteRoot: '/srv/app' }];
  assert.equal(toRemote('C:\\Users\\me\\proj\\lib\\a.js', mappings), '/srv/app/lib/a.js');
  assert.equal(toRemote('/elsewhere/a.js', mappings), '/elsewhere/a.js');
  assert.equal(toClient('/srv/app/lib/a.js', mappings), 'C:\\Users\\me\\proj\\lib\\a.js');
  assert.equal(toClient('/srv/app/lib/a.js', [{ localRoot: '/home/me/proj/', remoteRoot: '/srv/app' }]), '/home/me/proj/lib/a.js');
  assert.equal(scriptPath('file:///srv/app/a%20b.mjs'), '/srv/app/a b.mjs');
  assert.equal(scriptPath('/srv/app/a.js'), '/srv/app/a.js');
  assert.equal(scriptPath('node:fs'), null);
  const exact = new RegExp(exactUrlRegex('/srv/app/a b.mjs'));
  assert.ok(exact.test('/srv/app/a b.mjs'));
  assert.ok(exact.test('file:///srv/app/a%20b.mjs'));
  assert.ok(!exact.test('/srv/app/xa b.mjs'));
  const byName = new RegExp(fileNameUrlRegex('app.js'));
  assert.ok(byName.test('file:///x/y/app.js'));
  assert.ok(!byName.test('file:///x/y/myapp.js'));
  assert.deepEqual(rankByFileName('C:\\co\\src\\lib\\util.js', ['/srv/util.js', '/srv/src/lib/util.js', '/srv/other.js']), ['/srv/src/lib/util.js', '/srv/util.js']);
  assert.deepEqual(rankByFileName('/x/none.js', ['/srv/util.js']), []);
  assert.ok(samePath('C:\\A\\b.js', 'c:/a/B.js'));
  assert.ok(!samePath('/a/b.js', '/a/B.js'));
});

test('chooseTarget: loaded code (exact, mapped, file name) before files on disk, and a note when several matched', () => {
  const disk = new Set(['/a/app/lib/util.js', '/b/app/lib/util.js', '/b/app/main.js']);
  const exists = (p: string): boolean => disk.has(p);
  // two checkouts: the client's path exists here, but the program runs the other one
  assert.deepEqual(chooseTarget('/a/app/lib/util.js', [], ['/b/app/lib/util.js'], exists), {
    target: '/b/app/lib/util.js',
    note: 'using /b/app/lib/util.js; also matched /a/app/lib/util.js (not loaded)',
  });
  // an explicit mapping to the running file beats the unloaded file at the exact path
  const mapped = chooseTarget('/a/app/lib/util.js', [{ localRoot: '/a/app', remoteRoot: '/b/app' }], ['/b/app/lib/util.js'], exists);
  assert.equal(mapped.target, '/b/app/lib/util.js');
  assert.match(mapped.note ?? '', /also matched \/a\/app\/lib\/util\.js \(not loaded\)/);
  // the exact path, loaded: no note
  assert.deepEqual(chooseTarget('/b/app/lib/util.js', [], ['/b/app/lib/util.js'], exists), { target: '/b/app/lib/util.js' });
  // nothing loaded yet: the file on disk
  assert.deepEqual(chooseTarget('/b/app/main.js', [], [], exists), { target: '/b/app/main.js' });
  // nothing anywhere: wait for a script of that name
  assert.deepEqual(chooseTarget('/c/none.js', [], ['/b/app/lib/util.js'], exists), { target: null });
  // a Windows client path only matches through mappings or the file-name heuristic
  assert.equal(chooseTarget('C:\\co\\app\\lib\\util.js', [], ['/b/app/lib/util.js'], exists).target, '/b/app/lib/util.js');
});

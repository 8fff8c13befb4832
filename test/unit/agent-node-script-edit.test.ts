// The text side of compiled breakpoints (translate/script-edit.ts): where the statement may go, what it does, and
// that nothing else in the script moves. Runs the edited code with node:vm to check behaviour.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import vm from 'node:vm';
import { buildCondition, logTag, untagLog } from '../../src/agent-node/translate/conditions.js';
import { applyInserts, guardStatement, insertionColumn, originalColumn } from '../../src/agent-node/translate/script-edit.js';

/** insertionColumn for the line of `source` that holds `marker`. */
function at(source: string, marker: string): { column: number } | { reason: string } {
  const line = source.split('\n').findIndex((l) => l.includes(marker));
  assert.ok(line >= 0, marker);
  return insertionColumn(source, line);
}

test('a statement may go in front of a line that starts a statement', () => {
  const src = [
    'function f(a) {',
    '  const x = a + 1; // A',
    '  if (x) {',
    '    g(x); // B',
    '  }',
    '  h() // C',
    '  k(x) // D',
    '  let y = x',
    '  return y; // E',
    '}',
    '"use strict"',
    '  /* note */',
    '  m(); // G',
    'case1: // H',
    '  n(); // I',
  ].join('\n');
  assert.deepEqual(at(src, '// A'), { column: 2 });
  assert.deepEqual(at(src, '// B'), { column: 4 });
  assert.deepEqual(at(src, '// C'), { column: 2 }, 'after }');
  assert.deepEqual(at(src, '// E'), { column: 2 }, 'no semicolon before: the line before ends in a word');
  assert.deepEqual(at(src, '// G'), { column: 2 }, 'after a string and a comment');
  assert.deepEqual(at(src, '// I'), { column: 2 }, 'after a label');
  assert.ok('reason' in at(src, '// D'), 'after ")" it could be the body of an if without braces');
});

test('lines that may continue the line before, or its body, are refused with a reason', () => {
  const cases: [string, RegExp][] = [
    ['if (a)\n  b(); // X', /follows "\)"/],
    ['x = a\n  + b; // X', /starts with "\+"/],
    ['x = foo\n  .bar(); // X', /starts with "\."/],
    ['call(\n  arg, // X\n)', /follows "\("/],
    ['let a = 1,\n  b = 2; // X', /follows ","/],
    ['if (a) b();\nelse c(); // X', /starts with else/],
    ['x = await\n  y; // X', /follows "await"/],
    ['f = () =>\n  a + 1; // X', /follows ">"/],
    ['x = `a ${"//"}`\n  y(); // X', /comment/],
    ['a()\r\nb(); // X\rc()', /line separators/],
    ['a();\n\n// X', /starts with "\/"/],
  ];
  for (const [source, why] of cases) {
    const r = at(source, '// X');
    assert.ok('reason' in r, `${JSON.stringify(source)} was accepted`);
    assert.match(r.reason, why, source);
  }
});

test('comments between statements are skipped when looking at the line before', () => {
  assert.deepEqual(at('a();\n/* one\n   two */\n// three\n  b(); // X', '// X'), { column: 2 });
  assert.deepEqual(at('a(); // note\n  b(); // X', '// X'), { column: 2 });
});

test('inserts stay on their lines: every other line and every column before an insert is unchanged', () => {
  const original = 'function f(i) {\n  const v = i * 2;\n  return v;\n}\nf;';
  const text = 'if (i === 3) debugger; ';
  const edited = applyInserts(original, [{ line: 1, column: 2, text }]);
  const a = original.split('\n');
  const b = edited.split('\n');
  assert.equal(b.length, a.length);
  for (let i = 0; i < a.length; i++) if (i !== 1) assert.equal(b[i], a[i]);
  assert.equal(b[1], `  ${text}const v = i * 2;`);
  assert.equal(applyInserts(original, []), original);
  const inserts = [{ line: 1, column: 2, text }];
  assert.equal(originalColumn(inserts, 1, 1), 1);
  assert.equal(originalColumn(inserts, 1, 2 + 5), 2, 'inside the insert: the insert\'s column');
  assert.equal(originalColumn(inserts, 1, 2 + text.length + 8), 10);
  assert.equal(originalColumn(inserts, 2, 9), 9);
  // \r\n line ends survive.
  assert.equal(applyInserts('a();\r\nb();\r\n', [{ line: 1, column: 0, text: 'x; ' }]), 'a();\r\nx; b();\r\n');
});

/** Runs `body` (a function of i) with a guard for `condition` inserted at its first line; returns stops and logs. */
function runGuarded(condition: string, body: string, calls: number[], options: { hitCondition?: string; logMessage?: string; live?: boolean } = {}) {
  const logs: string[] = [];
  const counts = new Map<string, number>();
  const announced: string[] = [];
  const agent = {
    /** The agent's stop helper: called (with the breakpoint's tag) right before each `debugger`; false for a tag that
     * names no live breakpoint (an earlier session's insert). */
    stop: (tag: string): boolean => {
      announced.push(tag);
      return options.live !== false;
    },
    hit: (k: string) => {
      const n = (counts.get(k) ?? 0) + 1;
      counts.set(k, n);
      return n;
    },
    log: (text: string) => logs.push(untagLog(text).text),
  };
  const cond = buildCondition({ key: 'bp1', condition, ...options }, 'test.agent');
  // `debugger` cannot be observed without an inspector: count stops by replacing it with a call.
  const statement = guardStatement(cond, 'test.agent', 'bp1').replaceAll('debugger;', 'stop(i);');
  const source = `(function (i) {\n  ${body}\n})`;
  const stops: number[] = [];
  const sandbox: Record<string | symbol, unknown> = { stop: (i: number) => stops.push(i) };
  sandbox[Symbol.for('test.agent')] = agent;
  const fn = vm.runInNewContext(applyInserts(source, [{ line: 1, column: 2, text: statement }]), sandbox) as (i: number) => number;
  const results = calls.map((i) => fn(i));
  if (options.live !== false) assert.deepEqual(announced, stops.map(() => 'bp1'), 'the stop helper runs before every stop, and only then');
  return { stops, logs, results, announced };
}

test('the statement stops only when the condition holds, counts hits, logs, and stops once for a condition that throws', () => {
  let r = runGuarded('i === 3', 'return i * 2;', [1, 2, 3, 4]);
  assert.deepEqual(r.stops, [3]);
  assert.deepEqual(r.results, [2, 4, 6, 8], 'the function still does what it did');
  r = runGuarded('', 'return i;', [1, 2, 3, 4], { hitCondition: '%2' });
  assert.deepEqual(r.stops, [2, 4]);
  r = runGuarded('i > 2', 'return i;', [1, 2, 3, 4], { logMessage: 'i is {i}' });
  assert.deepEqual(r.stops, []);
  assert.deepEqual(r.logs, ['i is 3\n', 'i is 4\n']);
  r = runGuarded('i.no.such > 1', 'return i;', [1, 2]);
  assert.deepEqual(r.stops, [1, 2], 'each run that throws stops');
  assert.equal(r.logs.length, 2);
  assert.match(r.logs[0]!, /^breakpoint condition raised TypeError: Cannot read properties of undefined/);
  assert.deepEqual(r.results, [1, 2], 'the program never sees the error');
  r = runGuarded('(() => { throw 7; })()', 'return i;', [1]);
  assert.match(r.logs[0]!, /raised number: 7/);
});

test('a tag the stop helper says is not live never stops (an insert an earlier session could not take out)', () => {
  let r = runGuarded('i === 3', 'return i * 2;', [1, 2, 3, 4], { live: false });
  assert.deepEqual(r.announced, ['bp1'], 'the helper was asked where the condition held');
  assert.deepEqual(r.stops, [], 'and its false kept the `debugger` statement from running');
  assert.deepEqual(r.results, [2, 4, 6, 8]);
  r = runGuarded('i.no.such > 1', 'return i;', [1, 2], { live: false });
  assert.deepEqual(r.stops, [], 'a condition that throws does not stop either');
  assert.equal(r.logs.length, 2, 'its error is still reported');
});

test('with no stop helper (a worker thread) or one that fails, the `debugger` statement still runs', () => {
  for (const agent of [{}, { stop: () => undefined }, { stop: () => { throw new Error('gone'); } }]) {
    const statement = guardStatement('i === 2', 'test.agent', 'bp1').replaceAll('debugger;', 'stop(i);');
    const stops: number[] = [];
    const sandbox: Record<string | symbol, unknown> = { stop: (i: number) => stops.push(i) };
    sandbox[Symbol.for('test.agent')] = agent;
    const fn = vm.runInNewContext(applyInserts('(function (i) {\n  return i;\n})', [{ line: 1, column: 2, text: statement }]), sandbox) as (i: number) => number;
    assert.deepEqual([1, 2, 3].map((i) => fn(i)), [1, 2, 3]);
    assert.deepEqual(stops, [2], `stops once with ${Object.keys(agent).length ? 'a helper that answers no boolean or throws' : 'no helper'}`);
  }
});

test('the statement is one line', () => {
  const statement = guardStatement(buildCondition({ key: 'k', condition: 'a > 1', logMessage: 'x {a}' }, 'g'), 'g');
  assert.doesNotMatch(statement, /[\n\r\u2028\u2029]/);
});

test('log text carries its breakpoint\'s tag, which the agent takes off (or uses to drop a removed one\'s output)', () => {
  const logs: string[] = [];
  (globalThis as any)[Symbol.for('tag.test')] = { hit: () => 1, log: (text: string) => logs.push(text) };
  const i = 7;
  void i;
  eval(buildCondition({ key: 'bp9', tag: 'bp9', logMessage: 'i={i}' }, 'tag.test'));
  assert.equal(logs.length, 1);
  assert.ok(logs[0]!.startsWith(logTag('bp9')));
  assert.deepEqual(untagLog(logs[0]!), { tag: 'bp9', text: 'i=7\n' });
  assert.deepEqual(untagLog('plain text\n'), { tag: '', text: 'plain text\n' });
  // V8's condition with reportErrors: a throwing condition counts as true and says why, tagged.
  const cond = buildCondition({ key: 'bp10', tag: 'bp10', condition: 'nosuch > 1', reportErrors: true }, 'tag.test');
  assert.equal(eval(cond), true);
  assert.deepEqual(untagLog(logs[1]!), { tag: 'bp10', text: 'breakpoint condition raised ReferenceError: nosuch is not defined\n' });
});

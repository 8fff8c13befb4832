// `table` and `stats` in the CLI: argument parsing (every bad input named) and the text rendering of their results.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTableArgs } from '../../src/cli/repl/data-commands.js';
import { PLAIN, renderResult } from '../../src/cli/render/text.js';
import { LongreachError } from '../../src/protocol/errors.js';

test('table arguments: EXPR, EXPR ROWS, EXPR START:ROWS; expressions may contain spaces', () => {
  assert.deepEqual(parseTableArgs('df'), { expression: 'df', start: 0, rows: 20 });
  assert.deepEqual(parseTableArgs('df 50'), { expression: 'df', start: 0, rows: 50 });
  assert.deepEqual(parseTableArgs('df 2000000:100'), { expression: 'df', start: 2000000, rows: 100 });
  assert.deepEqual(parseTableArgs("frames['train'] + 1 10"), { expression: "frames['train'] + 1", start: 0, rows: 10 });
  assert.deepEqual(parseTableArgs('df[df.a > 3]'), { expression: 'df[df.a > 3]', start: 0, rows: 20 });
});

test('table arguments: bad input says what to do', () => {
  const bad = (args: string, text: RegExp) => assert.throws(() => parseTableArgs(args), (e: unknown) => e instanceof LongreachError && e.code === 'LR_BAD_REQUEST' && text.test(e.message));
  bad('', /usage: table EXPRESSION \[ROWS \| START:ROWS\]/);
  bad('df 0', /ROWS must be from 1 to 1000, got 0/);
  bad('df 5000', /ROWS must be from 1 to 1000, got 5000/);
  bad('df 99999999999999999999:5', /START must be a row number/);
});

test('table and stats render as aligned tables with where they are', () => {
  const table = renderResult({ kind: 'table', title: 'df', type: 'DataFrame', columns: ['a', 'name'], index: ['10', '11'], rows: [['1', 'x'], ['-22.5', 'yy']], start: 10, totalRows: 5000000, totalColumns: 30 }, PLAIN);
  assert.equal(table, '        a  name\n10      1  x\n11  -22.5  yy\nDataFrame: rows 10-11 of 5,000,000, 2 of 30 columns\n');
  assert.equal(renderResult({ kind: 'table', title: 'df', type: 'DataFrame', columns: ['a'], index: [], rows: [], start: 9, totalRows: 3, totalColumns: 1 }, PLAIN), 'df: no rows at 9 (it has 3)\n');
  const stats = renderResult({ kind: 'stats', title: 'w', type: 'Tensor float32', columns: [{ name: 'w', dtype: 'float32', count: 4, min: -1, max: 1, mean: 0.25, std: 0.5, nan: 1, inf: 0 }] }, PLAIN);
  assert.equal(stats, 'Tensor float32\n   dtype    count  min  max  mean  std  nan  inf\nw  float32      4   -1    1  0.25  0.5    1    0\n');
});

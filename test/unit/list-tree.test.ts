import assert from 'node:assert/strict';
import { test } from 'node:test';
import { treeOrder } from '../../src/client/list.js';
import type { ProcessInfo } from '../../src/protocol/process-info.js';

const p = (pid: number, ppid: number | null): ProcessInfo => ({ pid, ppid } as ProcessInfo);

test('a job lists parents before children, depth first, by pid; unknown parents and ppid cycles still listed', () => {
  const order = treeOrder([p(30, 10), p(20, 10), p(10, 1), p(31, 30), p(50, 99), p(60, 61), p(61, 60)]).map((x) => x.pid);
  assert.deepEqual(order, [10, 20, 30, 31, 50, 60, 61]);
});

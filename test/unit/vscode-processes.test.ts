// The "Available Processes" quick pick of the VS Code extension, built from a real listing (a real server
// core on 127.0.0.1 and a closed port), without VS Code.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processItems } from '../../src/bridge/editor.js';
import { listProcesses } from '../../src/client/list.js';
import { startTestServer } from '../helpers/test-server.js';
import { closedPort } from '../helpers/tls-fixtures.js';

test('reachable processes first, each with an attach configuration without the secret; failures say why', async (t) => {
  const server = await startTestServer(t);
  const closed = await closedPort();
  const base = `tcp://s3cret@127.0.0.1`;
  const rows = [
    ...(await listProcesses(`${base}:${closed}`, { timeoutMs: 3000 })),
    ...(await listProcesses(`${base}:${server.port}`, { timeoutMs: 3000 })),
  ];
  const items = processItems(`${base}:${server.port}`, rows);
  assert.equal(items.length, 2);
  const [ok, failed] = items;
  assert.match(ok!.label, new RegExp(`^${process.pid}  `));
  assert.match(ok!.description, /Node\.js v20/);
  assert.match(ok!.detail, new RegExp(`^tcp://127\\.0\\.0\\.1:${server.port} · not attached$`));
  assert.deepEqual(ok!.config, { type: 'longreach', request: 'attach', name: ok!.config!.name, qualifier: `tcp://127.0.0.1:${server.port}` });
  assert.doesNotMatch(JSON.stringify(items), /s3cret/);
  assert.equal(failed!.config, null);
  assert.equal(failed!.description, 'LR_REFUSED');
  assert.match(failed!.detail, /refused/);
});

test('TLS options of the qualifier stay in each configuration', () => {
  const items = processItems('tcps://host:5678-5679?fingerprint=sha256:' + 'ab'.repeat(32), [
    { target: 'x', port: 5679, ok: true, pid: 7, ppid: null, label: '', info: { pid: 7, executable: '/usr/bin/python3', argv: ['train.py'], cwd: '/', runtime: 'CPython', runtimeVersion: '3.11.7', runtimeDisplay: 'CPython 3.11.7', os: 'linux', arch: 'x64', hostname: 'gpu', user: 'ann', agent: 'longreach-python', agentVersion: '0.1.0', protocol: 1, attached: { address: '10.0.0.9:5312', since: '2026-01-01T00:00:00Z' } } },
  ]);
  assert.equal(items[0]!.config!.qualifier, `tcps://host:5679?fingerprint=sha256:${'ab'.repeat(32)}`);
  assert.equal(items[0]!.label, '7  train.py');
  assert.match(items[0]!.detail, /attached by 10\.0\.0\.9:5312 since 2026-01-01T00:00:00Z/);
});

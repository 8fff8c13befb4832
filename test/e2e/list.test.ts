// `longreach list` and the command's basics, through the built CLI against real servers.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli, startAgent } from '../helpers/cli.js';
import { startTestServer } from '../helpers/test-server.js';

test('longreach --help lists the commands; no arguments is a usage error', async () => {
  const help = await runCli(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['list', 'attach', 'cert', 'demo']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
  const none = await runCli([]);
  assert.equal(none.code, 2);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"; run longreach --help/);
});

test('list shows the process table, with the secret from a file and masked in the output', async (t) => {
  const server = await startTestServer(t, { secret: 'hunter2' });
  const dir = mkdtempSync(join(tmpdir(), 'lr-list-'));
  writeFileSync(join(dir, 'secret'), 'hunter2\n');
  const result = await runCli(['list', '--secret-file', join(dir, 'secret'), `tcp://127.0.0.1:${server.port}`]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^TARGET\s+PID\s+PROGRAM\s+RUNTIME\s+USER\s+ATTACHED BY\s+COMMAND LINE$/m);
  assert.match(result.stdout, new RegExp(`tcp://127\\.0\\.0\\.1:${server.port}\\s+${process.pid}\\s+\\S+\\s+Node\\.js v`));
  const inQualifier = await runCli(['list', `tcp://hunter2@127.0.0.1:${server.port}`]);
  assert.match(inQualifier.stdout, /tcp:\/\/\*\*\*@127\.0\.0\.1/);
  assert.doesNotMatch(inQualifier.stdout + inQualifier.stderr, /hunter2/);
});

test('list into a pipe writes the last column whole (it is cut to the width on a terminal only)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-list-'));
  writeFileSync(join(dir, 'idle.py'), 'import time\ntime.sleep(60)\n');
  const long = 'x'.repeat(150);
  const agent = await startAgent(t, join(dir, 'idle.py'), { wait: false, args: [long] });
  const result = await runCli(['list', '--secret-env', 'LR_TEST_SECRET', `tcp://127.0.0.1:${agent.port}`], { env: { LR_TEST_SECRET: 'cli-secret' } });
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`idle\\.py ${long}\n`), result.stdout);
});

test('list --json prints one row per port and fails when nothing could be listed', async (t) => {
  const server = await startTestServer(t);
  const ok = await runCli(['list', '--json', `tcp://s3cret@127.0.0.1:${server.port}`]);
  assert.equal(ok.code, 0);
  const row = JSON.parse(ok.stdout.trim());
  assert.equal(row.ok, true);
  assert.equal(row.info.pid, process.pid);
  const wrong = await runCli(['list', '--json', `tcp://nope@127.0.0.1:${server.port}`]);
  assert.equal(wrong.code, 1);
  assert.equal(JSON.parse(wrong.stdout.trim()).code, 'LR_AUTH_FAILED');
});

test('bad input to list: malformed qualifier, missing secret variable, bad timeout', async () => {
  const bad = await runCli(['list', 'tcp://host:99999']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /error \[LR_BAD_QUALIFIER\]: ports must be 1-65535: expected tcp:\/\/\[SECRET@\]HOST/);
  const env = await runCli(['list', '--secret-env', 'LR_NOT_SET_ANYWHERE', 'tcp://127.0.0.1:1']);
  assert.equal(env.code, 2);
  assert.match(env.stderr, /LR_NOT_SET_ANYWHERE: that environment variable is not set/);
  const timeout = await runCli(['list', '--timeout', 'soon', 'tcp://127.0.0.1:1']);
  assert.equal(timeout.code, 2);
  const option = await runCli(['list', '--secret', 'x', 'tcp://127.0.0.1:1']);
  assert.equal(option.code, 2);
  assert.match(option.stderr, /Unknown option '--secret'/);
});

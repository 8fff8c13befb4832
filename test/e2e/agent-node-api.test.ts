// The public API in real processes: bad input gets typed errors, waiting times out, breakIntoDebugger stops at
// the caller, nobody attached means no output and the program's own exit code, and the --import launcher.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { markerLine } from '../conformance/agents.js';
import { connectTo } from '../conformance/harness.js';
import { FIXTURES, REGISTER, attachTo, run, within } from './agent-node-helpers.js';
import { tempDir } from '../helpers/tls-fixtures.js';
import { spawn } from 'node:child_process';

const PROBE = join(FIXTURES, 'api/probe.mjs');

async function probe(t: Parameters<typeof run>[0], name: string): Promise<any> {
  const program = run(t, PROBE, [name]);
  await within(program.exited, 15_000, name);
  const last = program.stdout().trim().split('\n').pop() ?? '';
  return JSON.parse(last);
}

for (const [name, code, pattern] of [
  ['no-secret', 'LR_SECRET_REQUIRED', /secret: null/],
  ['empty-secret', 'LR_BAD_OPTION', /non-empty string/],
  ['bad-port', 'LR_BAD_OPTION', /0 to 65535/],
  ['cert-without-key', 'LR_BAD_OPTION', /keyfile/],
  ['missing-cert', 'LR_CERT', /does not exist/],
  ['twice', 'LR_ALREADY_ENABLED', /call enableAttach once/],
  ['port-in-use', 'LR_ADDRESS_IN_USE', /already in use/],
  ['wait-before-enable', 'LR_BAD_REQUEST', /enableAttach\(\) first/],
] as const) {
  test(`enableAttach/waitForAttach bad input: ${name} → ${code}`, async (t) => {
    const result = await probe(t, name);
    assert.equal(result.code, code, JSON.stringify(result));
    assert.match(result.message, pattern);
  });
}

/** A program that prints enableAttach()'s address as its first line: its port, once printed. */
async function takeAddress(program: ReturnType<typeof run>): Promise<void> {
  await within((async () => { while (!program.stdout().includes('port')) await new Promise((r) => setTimeout(r, 20)); })(), 15_000, 'address');
  program.port = (JSON.parse(program.stdout().split('\n')[0]!) as { port: number }).port;
}

test('waitForAttach and waitForAttachAsync return false on timeout; breakIntoDebugger does nothing unattached', async (t) => {
  assert.deepEqual(await probe(t, 'wait-timeout'), { sync: false, later: false, attached: false });
});

test('listening with nobody attached: no output at all and the exit code is the program\'s own', async (t) => {
  const program = run(t, PROBE, ['quiet-exit']);
  assert.equal(await within(program.exited, 15_000, 'exit'), 7);
  assert.equal(program.stdout(), '');
  assert.equal(program.stderr(), '');
});

test('breakIntoDebugger stops at the caller\'s line', async (t) => {
  const script = join(FIXTURES, 'api/break.mjs');
  const program = run(t, script);
  await takeAddress(program);
  const s = await attachTo(t, program, 's3cret');
  const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
  await s.request('configurationDone');
  assert.equal((await stopped).reason, 'pause');
  const { stackFrames } = await s.request('stackTrace', { threadId: 1 });
  assert.equal(stackFrames[0].source.path, script, JSON.stringify(stackFrames.slice(0, 3)));
  assert.equal(stackFrames[0].line, markerLine(script, 'break-here'));
  const evaluated = await s.request('evaluate', { expression: 'marker', frameId: stackFrames[0].id });
  assert.equal(evaluated.result, '1');
  await s.request('continue', { threadId: 1 });
  assert.equal(await within(program.exited, 15_000, 'exit'), 0);
  assert.match(program.stdout(), /after break true 2/);
});

test('a debugger that configured and detached while the waiting program was busy still ends waitForAttachAsync', async (t) => {
  const { writeFileSync } = await import('node:fs');
  const go = join(tempDir(t, 'longreach-missed-'), 'go');
  const program = run(t, PROBE, ['wait-missed', go]);
  await takeAddress(program);
  const s = await attachTo(t, program, 's3cret');
  await s.request('configurationDone');
  await s.request('disconnect', {});
  writeFileSync(go, '');
  assert.equal(await within(program.exited, 15_000, 'exit'), 0, program.stderr());
  assert.deepEqual(JSON.parse(program.stdout().trim().split('\n').pop()!), { later: true, attached: false });
});

test('the --import launcher refuses to start without a secret, with advice, and exit code 2', async (t) => {
  const child = spawn(process.execPath, ['--import', REGISTER, join(FIXTURES, 'later-module.mjs')], {
    env: { ...process.env, LONGREACH_LISTEN: '127.0.0.1:0', LONGREACH_SECRET: '', LONGREACH_SECRET_FILE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await within(new Promise((resolve) => child.on('exit', resolve)), 15_000, 'launcher');
  assert.equal(code, 2);
  assert.match(err, /LONGREACH_SECRET_FILE/);
});

test('the --import launcher: a wrong LONGREACH_LISTEN is explained', async (t) => {
  const child = spawn(process.execPath, ['--import', REGISTER, join(FIXTURES, 'later-module.mjs')], {
    env: { ...process.env, LONGREACH_LISTEN: 'localhost', LONGREACH_SECRET: 'x' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  assert.equal(await within(new Promise((resolve) => child.on('exit', resolve)), 15_000, 'launcher'), 2);
  assert.match(err, /\[HOST:\]PORT/);
  t.diagnostic(err.trim());
});

test('the --import launcher with a secret file: attach and the program keeps its argv and exit code', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'longreach-launch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'secret');
  writeFileSync(secretFile, 'file-secret\n', { mode: 0o600 });
  const script = join(dir, 'exit.mjs');
  writeFileSync(script, "console.log('argv', process.argv.slice(2).join(',')); process.exitCode = 3;\n");
  const { freePort } = await import('../conformance/agents.js');
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', REGISTER, script, 'a', 'b'], {
    env: { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET_FILE: secretFile, LONGREACH_WAIT: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.after(() => child.kill('SIGKILL'));
  const program = { child, port, stdout: () => out, stderr: () => '', exited: exited as Promise<number | string> };
  const s = await connectTo(program, { secret: 'file-secret' });
  t.after(() => s.close());
  // what `longreach list` shows as PROGRAM: the program's argv, not the agent worker's file
  const info = (await s.request('longreach/processInfo', {})) as { argv: string[] };
  assert.deepEqual(info.argv, [script, 'a', 'b']);
  const initialized = s.waitForEvent('initialized', { timeoutMs: 15_000 });
  await s.request('attach', {});
  await initialized;
  const output = s.waitForEvent('output', { timeoutMs: 15_000, predicate: (b: any) => String(b.output).includes('argv a,b') });
  await s.request('configurationDone');
  assert.equal((await output).category, 'stdout');
  assert.equal(await within(exited, 15_000, 'exit'), 3);
  assert.match(out, /argv a,b/);
});

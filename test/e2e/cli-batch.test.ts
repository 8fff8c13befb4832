// Batch mode against the Python agent: golden transcripts (text and --json), waiting rules, exit status,
// --path-map with remote source, and usage errors. Real programs, real sockets, the built CLI as a child.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertGolden, runCli, stabilise, startAgent } from '../helpers/cli.js';

const FIXTURE = 'test/fixtures/cli/inventory.py';
const SECRET_ENV = { LR_CLI_SECRET: 'cli-secret' };

const TOUR = `# stopped at check("apples") by --break
bt 3
p name
locals
up
list
p shelves
x shelves 10 3
down
step
p STOCK[name]
finish
delete 1
break ${FIXTURE}:10 if amount > 0
tbreak ${FIXTURE}:38
logpoint ${FIXTURE}:25 worker total is {total}
catch raised
info breakpoints
continue
p err if False else STOCK["pears"]
catch off
continue
threads
p before
set amount = 5
p amount
next
p after
delete 2
continue
info breakpoints
p len(shelves)
continue
p 1
`;

test('batch transcript: breakpoints, stepping, frames, variables, exceptions, threads, logpoints (golden)', async (t) => {
  const agent = await startAgent(t, FIXTURE);
  const r = await runCli(['attach', `tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET', '--break', `${FIXTURE}:16`, '--batch', '-', '--timeout', '20'], { input: TOUR, env: SECRET_ENV });
  assert.equal(r.stderr, '');
  assert.equal(r.code, 1, 'the last command (p 1 after the end) fails, so the exit status is 1');
  assertGolden('batch-tour.txt', stabilise(r.stdout, { port: agent.port }));
  assert.equal(await agent.exited, 0);
});

test('batch --json: one object per result and event, stable schema (golden)', async (t) => {
  const agent = await startAgent(t, FIXTURE);
  const script = 'bt 2\np amount\nnext\np after\ncontinue\n';
  const r = await runCli(['attach', `tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET', '--break', `${FIXTURE}:10:name == "plums"`, '--batch', '-', '--json'], { input: script, env: SECRET_ENV });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  for (const line of lines) {
    const obj = JSON.parse(line) as { type: string };
    assert.ok(obj.type === 'result' || obj.type === 'event', line);
  }
  assertGolden('batch-json.jsonl', stabilise(r.stdout, { port: agent.port }));
});

test('batch: a frame whose source has no file shows its name (code compiled from a string), in text and --json', async (t) => {
  const generated = 'test/fixtures/cli/generated.py';
  const text = await startAgent(t, generated);
  const r = await runCli(['attach', `tcp://127.0.0.1:${text.port}`, '--secret-env', 'LR_CLI_SECRET', '--break', `${generated}:9`, '--batch', '-'], { input: 'step\nbt 2\n', env: SECRET_ENV });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^> <generated>:2 in made\(\)$/m, r.stdout);
  assert.match(r.stdout, /^\* #0 {2}made\(\) at <generated>:2\n {2}#1 {2}caller\(\) at test\/fixtures\/cli\/generated\.py:9$/m, r.stdout);
  assert.equal(await text.exited, 0);
  const json = await startAgent(t, generated);
  const j = await runCli(['attach', `tcp://127.0.0.1:${json.port}`, '--secret-env', 'LR_CLI_SECRET', '--break', `${generated}:9`, '--batch', '-', '--json'], { input: 'step\nbt 1\n', env: SECRET_ENV });
  assert.equal(j.code, 0, j.stderr);
  const bt = j.stdout.trim().split('\n').map((line) => JSON.parse(line)).find((o) => o.command === 'backtrace');
  assert.deepEqual(bt?.result.frames[0], { index: 0, function: 'made', file: null, origin: '<generated>', line: 2, source: null });
  assert.equal(await json.exited, 0);
});

test('batch: kill ends a program whose main thread is blocked in a wait, and its finally block runs', async (t) => {
  // the terminate's exception reaches a main thread only between two lines of Python; one blocked in a call is
  // interrupted by the job's wake signal (the agent's own handler), not ended by force after its grace
  const agent = await startAgent(t, 'test/fixtures/cli/blocked.py', { wait: false });
  const deadline = Date.now() + 20_000;
  while (!agent.stdout().includes('waiting') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  const r = await runCli(['attach', `tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET', '--batch', '-'], { input: 'kill\n', env: SECRET_ENV });
  assert.match(r.stdout, /The program was ended\./, r.stdout + r.stderr);
  assert.equal(await agent.exited, 0);
  assert.equal(agent.stdout(), 'waiting\ncleaned up\n');
  assert.equal(agent.stderr(), '');
});

test('batch: --path-map sends pathMappings and the source comes from the remote when there is no local copy', async (t) => {
  const agent = await startAgent(t, FIXTURE);
  const script = 'bt 1\nlist\np name\n';
  const r = await runCli(
    ['attach', `tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET', '--path-map', `/nonexistent/shop=${process.cwd()}/test/fixtures/cli`, '--break', '/nonexistent/shop/inventory.py:16', '--batch', '-'],
    { input: script, env: SECRET_ENV, cwd: process.cwd() },
  );
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /> \/nonexistent\/shop\/inventory\.py:16 in check\(\)/);
  assert.match(r.stdout, /\(source from the remote program: \/nonexistent\/shop\/inventory\.py\)/);
  assert.match(r.stdout, /16 -> {5}if STOCK\[name\] == 0:/);
  assert.match(r.stdout, /Detached; the program keeps running\./);
  assert.equal(await agent.exited, 0);
});

test('batch: a command needing a stop waits for it; a timeout fails with LR_TIMEOUT and exit status 1', async (t) => {
  // --wait: the 1.5 s run starts when the client is in, however long a loaded machine takes to start the CLI.
  const agent = await startAgent(t, '-c', { args: ['import time; time.sleep(1.5)'] });
  // No breakpoint: the program runs to its end, so `p` waits, then reports that the program ended.
  const r = await runCli(['attach', `tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET', '--batch', '-', '--timeout', '5'], { input: 'p 1\n', env: SECRET_ENV });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /error \[LR_(NOT_STOPPED|CLOSED)\]/);
});

test('batch: wait times out with LR_TIMEOUT when the program never stops', async (t) => {
  const agent = await startAgent(t, '-c', { args: ['import time\nfor _ in range(300): time.sleep(0.1)'] });
  const r = await runCli(['attach', `tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET', '--batch', '-', '--timeout', '1', '--json'], { input: 'wait\npause\nbt 1\n', env: SECRET_ENV });
  assert.equal(r.code, 1);
  const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; command?: string; ok?: boolean; error?: { code: string } });
  const wait = objs.find((o) => o.command === 'wait')!;
  assert.equal(wait.ok, false);
  assert.equal(wait.error?.code, 'LR_TIMEOUT');
  assert.equal(objs.find((o) => o.command === 'pause')?.ok, true, 'pause stops the running program');
  assert.equal(objs.find((o) => o.command === 'backtrace')?.ok, true);
});

test('attach usage errors: bad --break, bad --path-map, two qualifiers; a bad qualifier as list says it', async () => {
  for (const [args, pattern] of [
    [['attach', 'tcp://127.0.0.1:1', '--break', 'nolinenumber'], /--break takes FILE:LINE/],
    [['attach', 'tcp://127.0.0.1:1', '--path-map', 'nothing'], /--path-map takes LOCAL=REMOTE/],
    [['attach', 'tcp://127.0.0.1:1', 'tcp://127.0.0.1:2'], /attach takes one qualifier/],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  for (const command of ['attach', 'list']) {
    const r = await runCli([command, 'http://x']);
    assert.equal(r.code, 1, `${command}: ${r.stderr}`);
    assert.match(r.stderr, /^longreach: error \[LR_BAD_QUALIFIER\]: .*(missing tcp:\/\/ or tcps:\/\/|unknown scheme)/);
  }
});

test('batch: a function breakpoint (break NAME) stops at the function, and info breakpoints lists it', async (t) => {
  const agent = await startAgent(t, FIXTURE);
  const result = await runCli(['attach', `tcp://127.0.0.1:${agent.port}`, '--secret-env', 'LR_CLI_SECRET', '--break', `${FIXTURE}:16`, '--batch', '-', '--timeout', '30'], {
    input: ['break restock', 'delete 1', 'info breakpoints', 'continue', 'bt 1', 'p name, amount', 'detach'].join('\n'),
    env: SECRET_ENV,
  });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /restock/);
  assert.match(result.stdout, /\* #0 {2}restock\(\) at test\/fixtures\/cli\/inventory\.py:\d+/);
  assert.match(result.stdout, /^\('\w+', \d+\)/m);
  assert.equal(await agent.exited, 0);
});

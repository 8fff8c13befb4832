// The interactive prompt through a real pseudo-terminal (tmux): tab completion of commands and of expressions
// (remote `completions`), Ctrl-C pausing the program, Ctrl-D detaching, and history kept across sessions.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BIN, startAgent } from '../helpers/cli.js';
import { ROOT } from '../helpers/paths.js';
import { Tmux } from '../helpers/tmux.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lr-repl-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function attachIn(t: TestContext, port: number, config: string, extra: string[] = []): Tmux {
  return Tmux.start(t, [process.execPath, BIN, 'attach', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_CLI_SECRET', ...extra], { LR_CLI_SECRET: 'cli-secret', XDG_CONFIG_HOME: config, NO_COLOR: '1', TERM: 'xterm' }, ROOT);
}

test('interactive: completion of commands and remote expressions, Ctrl-D detaches, history persists', async (t) => {
  const config = tempDir(t);
  const agent = await startAgent(t, 'test/fixtures/cli/inventory.py');
  const tmux = attachIn(t, agent.port, config, ['--break', 'test/fixtures/cli/inventory.py:16']);
  await tmux.waitFor(/-> if STOCK\[name\] == 0:\n\(longreach\) ?$/m);

  tmux.type('back');
  tmux.keys('Tab');
  await tmux.waitFor(/\(longreach\) backtrace ?$/m);
  tmux.keys('Enter');
  await tmux.waitFor(/\* #0 {2}check\(\) at test\/fixtures\/cli\/inventory\.py:16/);

  tmux.type('p STO');
  tmux.keys('Tab');
  await tmux.waitFor(/\(longreach\) p STOCK$/m);
  tmux.type('["app');
  tmux.type('les"]');
  tmux.keys('Enter');
  await tmux.waitFor(/^3 {2}\(int\)$/m);

  tmux.keys('C-d');
  await tmux.waitFor(/Detached; the program keeps running\./);
  assert.equal(await agent.exited, 0, 'the program finished by itself after the detach');
  const historyFile = join(config, 'longreach', 'history');
  assert.ok(existsSync(historyFile));
  assert.deepEqual(readFileSync(historyFile, 'utf8').trim().split('\n'), ['backtrace', 'p STOCK["apples"]']);

  // A new session offers the last command with Up.
  const again = await startAgent(t, 'test/fixtures/cli/inventory.py');
  const tmux2 = attachIn(t, again.port, config, ['--break', 'test/fixtures/cli/inventory.py:16']);
  await tmux2.waitFor(/\(longreach\) ?$/m);
  tmux2.keys('Up');
  await tmux2.waitFor(/\(longreach\) p STOCK\["apples"\]$/m);
  tmux2.keys('C-u', 'C-d');
  await tmux2.waitFor(/Detached/);
});

test('interactive: Ctrl-C pauses the running program (at the prompt and while continuing), kill asks first', async (t) => {
  const config = tempDir(t);
  const flag = join(tempDir(t), 'stop');
  const agent = await startAgent(t, 'test/fixtures/cli/spin.py', { wait: false, args: [flag] });
  const tmux = attachIn(t, agent.port, config);
  await tmux.waitFor(/Ctrl-C pauses the program/);
  tmux.keys('C-c');
  await tmux.waitFor(/Stopped paused in thread MainThread/);
  tmux.type('p count > 0');
  tmux.keys('Enter');
  await tmux.waitFor(/^True {2}\(bool\)$/m);

  tmux.type('continue');
  tmux.keys('Enter');
  await new Promise((r) => setTimeout(r, 300));
  tmux.keys('C-c');
  const screen = await tmux.waitFor(/Stopped paused[^\n]*\n[^\n]*\n[^\n]*\n(?:.*\n)*?Stopped paused/);
  assert.ok(!tmux.dead(), 'the client keeps running after Ctrl-C');
  assert.match(screen, /spin\.py/);

  tmux.type('kill');
  tmux.keys('Enter');
  await tmux.waitFor(/End the program\? \[y\/N\] ?$/m);
  tmux.type('n');
  tmux.keys('Enter');
  await tmux.waitFor(/^not killed$/m);
  writeFileSync(flag, '');
  tmux.type('detach');
  tmux.keys('Enter');
  await tmux.waitFor(/Detached; the program keeps running\./);
  assert.equal(await agent.exited, 0);
  assert.match(agent.stdout(), /spun \d+ times/);
});

test('demo --interactive hands the prompt over at the first stop', async (t) => {
  const config = tempDir(t);
  const tmux = Tmux.start(t, [process.execPath, BIN, 'demo', '--interactive'], { XDG_CONFIG_HOME: config, NO_COLOR: '1', TERM: 'xterm' }, ROOT);
  await tmux.waitFor(/\(longreach\) ?$/m);
  tmux.type('p subtotal');
  tmux.keys('Enter');
  await tmux.waitFor(/^10\.5 {2}\(float\)$/m);
  tmux.type('detach');
  tmux.keys('Enter');
  await tmux.waitFor(/Detached; the program keeps running\./);
});

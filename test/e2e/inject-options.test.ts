// The injected agent is the ordinary agent: a `next` step, detach and a second attach that stops again (CPython 3.8
// and 3.13). And the injectors' other options: the secret from --secret-file and TLS from --certfile/--keyfile (a
// certificate made by `longreach cert create`, paths relative to the injector's directory, not the target's), for
// `python -m longreach --pid` and for `longreach inject` on a plain `node app.js`; attached over tcps:// trusting
// the certificate by its fingerprint. The secret is in no command line or environment of the target or injector.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { trackChild } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/tls-fixtures.js';
import { APP, boundPort, BUSY, cpython, ENV, refused, startTarget } from './inject-helpers.js';

const FILE_SECRET = 'from-a-file-9c2e71d4';

for (const minor of [8, 13]) {
  test(`an agent injected into CPython 3.${minor} steps, detaches and is attached again`, async (t) => {
    const python = cpython(minor);
    const target = await startTarget(t, [python, BUSY, '25']);
    const pid = target.child.pid!;
    const injected = await runCli(['inject', String(pid), '--listen', '127.0.0.1:0', '--secret-env', 'LR_INJECT_SECRET'], { env: { ...ENV, LONGREACH_PYTHON: python } });
    assert.equal(injected.code, 0, injected.stdout + injected.stderr);
    const port = boundPort(injected.stdout);
    const attach = (breakAt: string, script: string[]) =>
      runCli(['attach', `tcp://127.0.0.1:${port}`, '--secret-env', 'LR_INJECT_SECRET', '--break', breakAt, '--batch', '-', '--timeout', '30'], { input: script.join('\n'), env: ENV });

    const first = await attach(`${BUSY}:18`, ['wait', 'p n', 'next', 'p n', 'detach']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /Stopped at .*breakpoint.* in thread worker \(\d+\)\n> test\/fixtures\/inject\/busy\.py:18 in worker\(\)/);
    assert.match(first.stdout, /\(longreach\) next\nStopped after a step in thread worker \(\d+\)\n> test\/fixtures\/inject\/busy\.py:19 in worker\(\)/);
    // the step ran line 18: n went up by one
    const values = [...first.stdout.matchAll(/^(\d+) {2}\(int\)$/gm)].map((m) => Number(m[1]));
    assert.equal(values.length, 2, first.stdout);
    assert.equal(values[1], values[0]! + 1, first.stdout);
    assert.match(first.stdout, /Detached; the program keeps running\./);

    // the same injected agent, attached again: the first session's breakpoint is gone, the new one stops
    const second = await attach(`${BUSY}:23`, ['wait', 'bt 2', 'info breakpoints', 'detach']);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /Stopped at .*breakpoint.* in thread MainThread \(\d+\)\n> test\/fixtures\/inject\/busy\.py:23 in main_step\(\)/);
    assert.match(second.stdout, /#1 +<module>\(\) at test\/fixtures\/inject\/busy\.py:31/);
    assert.doesNotMatch(second.stdout, /busy\.py:18/);
    assert.match(second.stdout, /Detached; the program keeps running\./);
    assert.equal(await target.exited, 7, target.stderr());
    assert.equal(target.stdout(), 'ready\n');
    assert.equal(target.stderr(), '');
  });
}

/** A certificate for 127.0.0.1 from `longreach cert create`, and a secret file, in a fresh directory. */
async function credentials(t: TestContext): Promise<{ dir: string; fingerprint: string }> {
  const dir = tempDir(t, 'lr-inject-tls-');
  const made = await runCli(['cert', 'create', '--out', dir]);
  assert.equal(made.code, 0, made.stdout + made.stderr);
  const fingerprint = /Fingerprint: (sha256:[0-9a-f]{64})/.exec(made.stdout)?.[1];
  assert.ok(fingerprint, made.stdout);
  writeFileSync(join(dir, 'secret.txt'), `${FILE_SECRET}\n`, { mode: 0o600 });
  return { dir, fingerprint };
}

/**
 * Samples the command lines of every process whose command line names `pid` and inject or --pid (the injectors) while
 * `work` runs, and checks that none of them, nor the target's command line and environment, holds the secret.
 */
async function withoutSecretInArgv<T>(pid: number, work: () => Promise<T>): Promise<T> {
  const seen = new Set<string>();
  const sample = (): void => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
        if (/inject|--pid/.test(argv) && ` ${argv} `.includes(` ${pid} `)) seen.add(argv);
      } catch {
        // it ended meanwhile
      }
    }
  };
  const timer = setInterval(sample, 5);
  let result: T;
  try {
    result = await work();
  } finally {
    clearInterval(timer);
  }
  assert.ok(seen.size > 0, 'the injector was seen running');
  for (const argv of seen) assert.ok(!argv.includes(FILE_SECRET), `the secret is in a command line: ${argv}`);
  assert.ok(!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(FILE_SECRET), "the secret is in the target's command line");
  assert.ok(!readFileSync(`/proc/${pid}/environ`, 'utf8').includes(FILE_SECRET), "the secret is in the target's environment");
  return result;
}

/** `attach tcps://127.0.0.1:PORT --fingerprint FP --secret-file secret.txt`, stopping at `breakAt`, then detaching. */
function attachTls(port: number, fingerprint: string, dir: string, breakAt: string, script: string[]) {
  return runCli(['attach', `tcps://127.0.0.1:${port}`, '--fingerprint', fingerprint, '--secret-file', join(dir, 'secret.txt'), '--break', breakAt, '--batch', '-', '--timeout', '30'], { input: script.join('\n') });
}

test('python -m longreach --pid with --secret-file and --certfile/--keyfile: attached over tcps:// by fingerprint', async (t) => {
  const { dir, fingerprint } = await credentials(t);
  const python = cpython(12);
  const target = await startTarget(t, [python, BUSY, '25']);
  const pid = target.child.pid!;
  // another interpreter runs the injector, from the certificate's directory with relative paths
  const injector = spawn(cpython(11), ['-m', 'longreach', '--pid', String(pid), '--listen', '127.0.0.1:0', '--secret-file', 'secret.txt', '--certfile', 'cert.pem', '--keyfile', 'key.pem'], {
    cwd: dir,
    env: { ...process.env, PYTHONPATH: join(ROOT, 'python') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = trackChild(t, injector);
  const code = await withoutSecretInArgv(pid, () => run.exited);
  assert.equal(code, 0, run.stdout() + run.stderr());
  assert.match(run.stdout(), new RegExp(`agent started in process ${pid} \\(CPython 3\\.12\\.\\d+\\)`));
  assert.match(run.stdout(), /attach with: longreach attach tcps:\/\/127\.0\.0\.1:\d+ --secret-file secret\.txt/);
  const port = boundPort(run.stdout());

  // plain TCP and another certificate's fingerprint are turned away
  const plain = await runCli(['list', `tcp://127.0.0.1:${port}`, '--secret-file', join(dir, 'secret.txt')]);
  assert.equal(plain.code, 1, plain.stdout + plain.stderr);
  const pinned = await runCli(['list', `tcps://127.0.0.1:${port}`, '--fingerprint', `sha256:${'ab'.repeat(32)}`, '--secret-file', join(dir, 'secret.txt')]);
  assert.equal(pinned.code, 1, pinned.stdout);
  assert.match(pinned.stdout + pinned.stderr, new RegExp(`\\[LR_TLS_CHANGED\\].*the server presented ${fingerprint}`));

  const session = await attachTls(port, fingerprint, dir, `${BUSY}:23`, ['wait', 'p n', 'detach']);
  assert.equal(session.code, 0, session.stdout + session.stderr);
  assert.match(session.stdout, /Stopped at .*breakpoint.* in thread MainThread \(\d+\)\n> test\/fixtures\/inject\/busy\.py:23 in main_step\(\)/);
  assert.match(session.stdout, /Detached; the program keeps running\./);
  assert.equal(await target.exited, 7, target.stderr());
  assert.equal(target.stderr(), '');
});

test('longreach inject into a plain `node app.js` with --secret-file and --certfile/--keyfile: attached over tcps:// by fingerprint', async (t) => {
  const { dir, fingerprint } = await credentials(t);
  const target = await startTarget(t, [process.execPath, APP, '20']);
  const pid = target.child.pid!;
  const injected = await withoutSecretInArgv(pid, () => runCli(['inject', String(pid), '--listen', '127.0.0.1:0', '--secret-file', 'secret.txt', '--certfile', 'cert.pem', '--keyfile', 'key.pem'], { cwd: dir }));
  assert.equal(injected.code, 0, injected.stdout + injected.stderr);
  assert.match(injected.stdout, /attach with: longreach attach tcps:\/\/127\.0\.0\.1:\d+ --secret-file secret\.txt/);
  const inspectorPort = Number(/its inspector \(port (\d+)\) is closed again/.exec(injected.stdout)?.[1]);
  assert.equal(await refused(inspectorPort), true, 'nothing may listen on the old inspector port');
  const port = boundPort(injected.stdout);

  const pinned = await runCli(['list', `tcps://127.0.0.1:${port}`, '--fingerprint', `sha256:${'ab'.repeat(32)}`, '--secret-file', join(dir, 'secret.txt')]);
  assert.equal(pinned.code, 1, pinned.stdout);
  assert.match(pinned.stdout + pinned.stderr, new RegExp(`\\[LR_TLS_CHANGED\\].*the server presented ${fingerprint}`));

  const session = await attachTls(port, fingerprint, dir, `${APP}:5`, ['wait', 'p n', 'detach']);
  assert.equal(session.code, 0, session.stdout + session.stderr);
  assert.match(session.stdout, /longreach-node/);
  // (a stop that happens while attach is answered is shown as "paused" by the Node agent, as in inject.test.ts)
  assert.match(session.stdout, /Stopped (at .*breakpoint|paused).*\n> test\/fixtures\/inject\/app\.js:5 in tick\(\)/);
  assert.match(session.stdout, /^1 +\(number\)$/m);
  assert.match(session.stdout, /Detached; the program keeps running\./);
  assert.equal(await target.exited, 9, target.stderr());
  assert.doesNotMatch(target.stderr(), /Warning/);
});

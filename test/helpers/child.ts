// Tracks a child process for a test: its output so far, its exit, and a kill after the test if still running.

import type { ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';

export interface Tracked {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

export function trackChild(t: TestContext, child: ChildProcess): Tracked {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  // After the exit, what the process wrote last is read before the promise resolves (a crash's message on stderr
  // otherwise arrives after the test's assertion); bounded, since a grandchild may hold the pipes open.
  const drained = (stream: NodeJS.ReadableStream | null): Promise<void> =>
    !stream || (stream as { readableEnded?: boolean }).readableEnded ? Promise.resolve() : new Promise((resolve) => stream.once('end', resolve).once('close', resolve));
  const streams = Promise.all([drained(child.stdout), drained(child.stderr)]);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      let timer: NodeJS.Timeout | undefined;
      void Promise.race([streams, new Promise((r) => (timer = setTimeout(r, 1000)))]).then(() => {
        clearTimeout(timer);
        resolve(code ?? signal ?? -1);
      });
    }),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

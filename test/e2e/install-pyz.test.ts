// `longreach pyz --out FILE`: the Python agent as one file. The archive is checked with Python's zipfile, then run on
// the oldest and the newest CPython beside `python -m longreach` on the same program (attach, stop at a breakpoint,
// detach, exit status; a traceback; --help; a usage error) from a temp folder outside the checkout, and put on
// sys.path to import longreach. Bad --out values get clear errors and leave nothing behind.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN } from '../helpers/cli.js';
import { assertAttached, attachOnce, copyFixture, cpython, EXIT_STATUS, ok, run, tempFolder } from '../helpers/install.js';
import { ROOT } from '../helpers/paths.js';

const CLI = [process.execPath, BIN];
const AGENT = join(ROOT, 'python', 'longreach');

function agentFiles(dir = AGENT, under = ''): string[] {
  return readdirSync(join(dir, under))
    .filter((name) => name !== '__pycache__' && !name.endsWith('.pyc'))
    .flatMap((name) => {
      const rel = under === '' ? name : `${under}/${name}`;
      return statSync(join(dir, rel)).isDirectory() ? agentFiles(dir, rel) : [`longreach/${rel}`];
    });
}

async function writePyz(dir: string, out = 'longreach.pyz'): Promise<string> {
  const r = await ok(process.execPath, [BIN, 'pyz', '--out', out], { cwd: dir });
  assert.match(r.stdout, new RegExp(`^Wrote ${out}: the Longreach Python agent \\d+\\.\\d+\\.\\d+ \\(\\d+ files, \\d+ KiB\\)`));
  assert.equal(r.stderr, '');
  return join(dir, out);
}

test('pyz --out writes a zip of every agent file plus __main__.py, byte for byte the same each time', async (t) => {
  const dir = tempFolder(t, 'longreach-pyz-');
  const pyz = await writePyz(dir);
  const check = await ok(
    cpython(13),
    ['-c', 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint("\\n".join(sorted(z.namelist())))', pyz],
    { cwd: dir },
  );
  assert.deepEqual(check.stdout.trim().split('\n'), ['__main__.py', ...agentFiles()].sort());
  const first = readFileSync(pyz);
  await writePyz(dir); // replaces the file
  assert.ok(readFileSync(pyz).equals(first), 'the same agent gives the same bytes');
  assert.deepEqual(readdirSync(dir), ['longreach.pyz'], 'no temp file is left behind');
});

for (const minor of [8, 13]) {
  test(`CPython 3.${minor}: python longreach.pyz runs a program exactly as python -m longreach does`, async (t) => {
    const python = cpython(minor);
    const dir = tempFolder(t, 'longreach-pyz-');
    const pyz = await writePyz(dir);
    const script = copyFixture(dir);
    const fromCheckout = { PYTHONPATH: join(ROOT, 'python') };
    const viaPyz = await attachOnce(t, { python, launch: [pyz], script, cwd: dir, cli: CLI });
    const viaModule = await attachOnce(t, { python, launch: ['-m', 'longreach'], script, cwd: dir, env: fromCheckout, cli: CLI });
    assertAttached(viaPyz);
    assertAttached(viaModule);
    assert.equal(viaPyz.transcript, viaModule.transcript, 'the same stop, stack and values');

    // Interpreter options are kept (-X dev shows in sys.flags), and so is a traceback and its exit status.
    const flags = await run(python, ['-X', 'dev', pyz, '--listen', '127.0.0.1:0', '--no-secret', '-c', 'import sys; print(sys.flags.dev_mode, sys.path[0] == "")'], { cwd: dir });
    assert.deepEqual([flags.code, flags.stdout], [0, 'True True\n'], flags.stderr);
    const crashPyz = await run(python, [pyz, '--listen', '127.0.0.1:0', '--no-secret', script, 'raise'], { cwd: dir });
    const crashModule = await run(python, ['-m', 'longreach', '--listen', '127.0.0.1:0', '--no-secret', script, 'raise'], { cwd: dir, env: { ...process.env, ...fromCheckout } });
    assert.equal(crashPyz.code, 1);
    assert.match(crashPyz.stderr, /^Traceback \(most recent call last\):\n {2}File "[^"]*total\.py", line 10, in <module>\n/);
    assert.deepEqual(crashPyz, crashModule);

    // --help and a usage error read the same.
    const helpPyz = await run(python, [pyz, '--help'], { cwd: dir });
    assert.equal(helpPyz.code, 0);
    assert.deepEqual(helpPyz, await run(python, ['-m', 'longreach', '--help'], { cwd: dir, env: { ...process.env, ...fromCheckout } }));
    const badPyz = await run(python, [pyz, '--listen', '5678', script], { cwd: dir });
    assert.equal(badPyz.code, 2);
    assert.match(badPyz.stderr, /longreach: error: choose how to get the secret/);
    assert.deepEqual(badPyz, await run(python, ['-m', 'longreach', '--listen', '5678', script], { cwd: dir, env: { ...process.env, ...fromCheckout } }));
  });

  test(`CPython 3.${minor}: longreach.pyz on sys.path imports longreach; with -E it runs in-process`, async (t) => {
    const python = cpython(minor);
    const dir = tempFolder(t, 'longreach-pyz-');
    const pyz = await writePyz(dir);
    const script = copyFixture(dir);
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
    const imported = await ok(python, ['-c', 'import sys; sys.path.insert(0, sys.argv[1]); import longreach, longreach.tracer.base; print(longreach.__version__, longreach.tracer.base.__file__)', pyz], { cwd: dir });
    assert.equal(imported.stdout, `${version} ${join(pyz, 'longreach', 'tracer', 'base.py')}\n`);

    // A program that starts the agent itself (enable_attach) with the archive on sys.path.
    const api = [
      'import os, runpy, sys',
      `sys.path.insert(0, ${JSON.stringify(pyz)})`,
      'import longreach',
      'host, port = sys.argv[2].rsplit(":", 1)',
      'longreach.enable_attach(os.environ[sys.argv[4]], address=(host, int(port)))',
      'longreach.wait_for_attach()',
      'sys.argv = sys.argv[6:]',
      'runpy.run_path(sys.argv[0], run_name="__main__")',
    ].join('\n');
    const viaApi = await attachOnce(t, { python, launch: ['-c', api], script, cwd: dir, cli: CLI });
    assertAttached(viaApi, { exactStack: false });

    // -E: PYTHONPATH would be ignored, so the launcher runs in this process instead of starting again.
    const isolated = await attachOnce(t, { python, launch: ['-E', pyz], script, cwd: dir, cli: CLI });
    assertAttached(isolated, { exactStack: false });
    assert.equal(isolated.status, EXIT_STATUS);
  });
}

test('pyz: bad usage and an --out that cannot be written get clear errors, and nothing is left behind', async (t) => {
  const dir = tempFolder(t, 'longreach-pyz-');
  writeFileSync(join(dir, 'a-file'), 'not a folder');
  mkdirSync(join(dir, 'folder'));
  const cases: Array<[string[], number, RegExp]> = [
    [[], 2, /^longreach: pyz needs --out FILE, e\.g\. longreach pyz --out longreach\.pyz\nusage: longreach pyz --out FILE/],
    [['--out'], 2, /^longreach: Option '(-o, )?--out <value>' argument missing; run longreach pyz --help\n$/],
    [['--out='], 2, /^longreach: pyz needs --out FILE/],
    [['--out', 'x.pyz', 'extra'], 2, /^longreach: pyz takes no arguments but --out FILE, got "extra"/],
    [['--bogus'], 2, /^longreach: Unknown option '--bogus'.*run longreach pyz --help/],
    [['--out', 'missing/x.pyz'], 1, /^longreach: error \[LR_BAD_OPTION\]: cannot write --out \S*\/missing\/x\.pyz: the folder \S*missing does not exist \(create it first, or choose another --out\)\n$/],
    [['--out', 'a-file/x.pyz'], 1, /^longreach: error \[LR_BAD_OPTION\]: cannot write --out \S*\/a-file\/x\.pyz: a part of \S*a-file is a file, not a folder/],
    [['--out', 'folder'], 1, /^longreach: error \[LR_BAD_OPTION\]: --out \S*\/folder is a folder; give a file name, e\.g\. --out \S*\/folder\/longreach\.pyz\n$/],
  ];
  for (const [args, code, stderr] of cases) {
    const r = await run(process.execPath, [BIN, 'pyz', ...args], { cwd: dir });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, stderr, args.join(' '));
    assert.equal(r.stdout, '');
  }
  const help = await run(process.execPath, [BIN, 'pyz', '--help'], { cwd: dir });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: longreach pyz --out FILE\n/);
  assert.deepEqual(readdirSync(dir).sort(), ['a-file', 'folder']);
  assert.deepEqual(readdirSync(join(dir, 'folder')), []);

  // A folder the user may not write to. As root, the command runs as nobody, for whom the mode is enforced, from a
  // copy of the package that nobody can read (the checkout may sit in a folder only root can enter).
  chmodSync(dir, 0o755);
  const pkg = join(dir, 'pkg');
  cpSync(join(ROOT, 'dist', 'src'), join(pkg, 'dist', 'src'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  cpSync(AGENT, join(pkg, 'python', 'longreach'), { recursive: true });
  const locked = join(dir, 'locked');
  mkdirSync(locked);
  chmodSync(locked, 0o555);
  const asRoot = process.getuid?.() === 0;
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    execFile(process.execPath, [join(pkg, 'dist', 'src', 'cli', 'bin.js'), 'pyz', '--out', join(locked, 'x.pyz')], { cwd: '/', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) }, (err, _stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(err);
      else resolve({ code: err ? (err.code as number) : 0, stderr });
    });
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^longreach: error \[LR_BAD_OPTION\]: cannot write --out \S+\/locked\/x\.pyz: permission denied \(choose a folder you can write to\)\n$/);
  assert.deepEqual(readdirSync(locked), []);
});

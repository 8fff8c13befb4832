// `longreach pyz --out FILE`: the Python agent as one file, for hosts without pip. The archive holds the agent's
// package (python/longreach, every file and subpackage but compiled caches) and a __main__.py that starts it, so
// `python longreach.pyz --listen ... script.py` runs like `python -m longreach ...`, and the file can be put on
// sys.path to `import longreach`.

import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LongreachError } from '../../protocol/errors.js';
import { PACKAGE_VERSION } from '../../protocol/version.js';
import { UsageError, type Io } from '../io.js';
import { zipArchive, type ZipEntry } from '../zip-writer.js';

export const PYZ_USAGE = `usage: longreach pyz --out FILE
  Writes the Python agent as one file (a zip that Python runs), for a host where pip is not at hand:
    python3 longreach.pyz --listen 0.0.0.0:5678 --secret-env LONGREACH_SECRET script.py
  runs the program as python -m longreach would, and PYTHONPATH=longreach.pyz lets a program import longreach.
  --out FILE  where to write it, e.g. --out longreach.pyz (an existing file is replaced)`;

// Runs when Python is given the archive. The agent's launcher is started again as `-m longreach` with the archive on
// PYTHONPATH (execv: same process id), so the program's sys.path, stack and exit status are those of python -m
// longreach; only where PYTHONPATH would be ignored (-E, -I) or execv cannot replace the process (Windows) does it
// run in this process, where the stack shows this file's frame below the program's.
const BOOTSTRAP = `"""The Longreach Python agent ${PACKAGE_VERSION} in one file, written by \`longreach pyz\`.

    python3 longreach.pyz --listen [HOST:]PORT --secret-env VAR [--wait] script.py [args ...]

runs the program exactly as \`python3 -m longreach ...\` does with this file on PYTHONPATH: the interpreter starts
again on -m longreach (same process id, same interpreter options). Put this file on sys.path to import longreach.
"""

import os
import sys


def _interpreter_options():
    typed = getattr(sys, "orig_argv", None)  # 3.10+: the command line as given
    if typed and len(typed) > len(sys.argv):
        return list(typed[1:len(typed) - len(sys.argv)])
    import subprocess
    return subprocess._args_from_interpreter_flags()


def _launch():
    if os.name != "nt" and sys.executable and not (sys.flags.ignore_environment or sys.flags.isolated):
        archive = os.path.dirname(os.path.abspath(__file__))
        before = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = archive + (os.pathsep + before if before else "")
        try:
            os.execv(sys.executable, [sys.executable] + _interpreter_options() + ["-m", "longreach"] + sys.argv[1:])
        except OSError:
            if before is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = before
    from longreach.__main__ import main
    return main()


if __name__ == "__main__":
    sys.exit(_launch())
`;

/** The agent's package folder: python/longreach next to dist/ (in the repository and in the installed package). */
export function agentPackageDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const dir = join(here, '..', '..', '..', '..', 'python', 'longreach');
  if (!existsSync(join(dir, '__init__.py')) || !existsSync(join(dir, '__main__.py'))) {
    throw new LongreachError('LR_INTERNAL', `the Python agent (python/longreach) is missing from ${resolve(dir, '..', '..')}; reinstall longreach`);
  }
  return dir;
}

/** Every file of the package, sorted, without compiled caches and hidden files. */
function packageFiles(dir: string, under = ''): string[] {
  const names = readdirSync(join(dir, under)).sort();
  const files: string[] = [];
  for (const name of names) {
    if (name.startsWith('.') || name === '__pycache__' || /\.py[co]$/.test(name)) continue;
    const rel = under === '' ? name : `${under}/${name}`;
    const st = statSync(join(dir, rel));
    if (st.isDirectory()) files.push(...packageFiles(dir, rel));
    else if (st.isFile()) files.push(rel);
  }
  return files;
}

/** The archive: the longreach package under longreach/ and the launching __main__.py at the top. */
export function buildPyz(packageDir = agentPackageDir()): { data: Buffer; files: number } {
  const entries: ZipEntry[] = [{ name: '__main__.py', data: Buffer.from(BOOTSTRAP, 'utf8') }];
  for (const rel of packageFiles(packageDir)) entries.push({ name: `longreach/${rel}`, data: readFileSync(join(packageDir, ...rel.split('/'))) });
  return { data: zipArchive(entries), files: entries.length - 1 };
}

function whyUnwritable(out: string, err: NodeJS.ErrnoException): string {
  const parent = dirname(out);
  switch (err.code) {
    case 'ENOENT':
      return `the folder ${parent} does not exist (create it first, or choose another --out)`;
    case 'ENOTDIR':
      return `a part of ${parent} is a file, not a folder (choose another --out)`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied (choose a folder you can write to)`;
    case 'EROFS':
      return `the file system is read-only (choose another --out)`;
    default:
      return err.message;
  }
}

/** Writes next to the target and renames, so a failed write never leaves half an archive under the name. */
function writeAtomically(out: string, data: Buffer): void {
  if (existsSync(out) && statSync(out).isDirectory()) {
    throw new LongreachError('LR_BAD_OPTION', `--out ${out} is a folder; give a file name, e.g. --out ${join(out, 'longreach.pyz')}`);
  }
  const temp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temp, data, { mode: 0o644, flag: 'wx' });
    renameSync(temp, out);
  } catch (err) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // the folder could not hold it in the first place
    }
    throw new LongreachError('LR_BAD_OPTION', `cannot write --out ${out}: ${whyUnwritable(out, err as NodeJS.ErrnoException)}`);
  }
}

export async function pyzCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout.write(`${PYZ_USAGE}\n`);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`pyz takes no arguments but --out FILE, got ${JSON.stringify(positionals[0])}\n${PYZ_USAGE}`);
  if (values.out === undefined || values.out === '') throw new UsageError(`pyz needs --out FILE, e.g. longreach pyz --out longreach.pyz\n${PYZ_USAGE}`);
  const out = resolve(values.out);
  const { data, files } = buildPyz();
  writeAtomically(out, data);
  io.stdout.write(
    [
      `Wrote ${values.out}: the Longreach Python agent ${PACKAGE_VERSION} (${files} files, ${Math.ceil(data.length / 1024)} KiB). Copy it to the remote host, then:`,
      `  python3 ${basename(out)} --listen 0.0.0.0:5678 --secret-env LONGREACH_SECRET script.py    (as python3 -m longreach)`,
      `  PYTHONPATH=${basename(out)} python3 program.py    (a program that calls longreach.enable_attach)`,
      '',
    ].join('\n'),
  );
  return 0;
}

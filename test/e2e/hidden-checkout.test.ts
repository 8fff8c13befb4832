// The editor's copy lives where the agent cannot see it (issue 11's standards): the agent runs in a mount namespace
// in which an empty tmpfs covers the client's checkout (`unshare --mount` as root), as with an editor on another
// machine or a program in a container. A breakpoint set by the client's path must then be placed by file-name
// matching alone (pathMappings, or the name heuristic without them): it is verified and it hits, and the program
// confirms that the client's file does not exist for it. Both agents, through the client library.
//
// Needs root (CAP_SYS_ADMIN) and util-linux's unshare: without them the test fails and says so (CI runs as root on
// Debian; scripts/setup-debian.sh installs util-linux).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect } from '../../src/client/index.js';
import { trackChild, type Tracked } from '../helpers/child.js';
import { ROOT } from '../helpers/paths.js';
import { freePort, waitForPort } from '../helpers/ports.js';

const SECRET = 'hidden-checkout';
const PYTHON = process.env.LONGREACH_TEST_PYTHON ?? 'python3';
const SHOWN = /client file visible: (true|false|True|False)/;

/** Fails (never skips) with what is missing when mount namespaces cannot be made here. */
function requireUnshare(): void {
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'true'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    assert.fail(
      `this test hides the client's folder from the agent in a mount namespace and needs util-linux's unshare and root (CAP_SYS_ADMIN): ` +
        `\`unshare --mount true\` ${probe.error ? `could not run (${probe.error.message})` : `failed: ${probe.stderr.trim()}`}; ` +
        'install util-linux (scripts/setup-debian.sh) and run the suite as root',
    );
  }
}

/** The client's checkout and the agent's, each holding `files`. */
function checkouts(t: TestContext, files: Record<string, string>): { client: string; agent: string } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'lr-hidden-')));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const side of ['client', 'agent']) {
    for (const [rel, text] of Object.entries(files)) {
      const path = join(root, side, rel);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, text);
    }
  }
  return { client: join(root, 'client'), agent: join(root, 'agent') };
}

/** Runs `command` in a new mount namespace where an empty tmpfs covers `hidden`. */
function spawnHiding(t: TestContext, hidden: string, command: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Tracked {
  const script = 'mount -t tmpfs longreach-hidden "$1" || exit 97; shift; exec "$@"';
  const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', hidden, ...command], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  return trackChild(t, child);
}

async function visibility(program: Tracked): Promise<string> {
  for (let i = 0; i < 300 && !SHOWN.test(program.stdout()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const m = SHOWN.exec(program.stdout());
  assert.ok(m, `the program did not say whether it sees the client's file; stderr: ${program.stderr()}`);
  return m[1]!.toLowerCase();
}

async function breakAt(port: number, clientFile: string, line: number, attach: Record<string, unknown>): Promise<void> {
  const s = await connect(`tcp://127.0.0.1:${port}`, { secret: SECRET, timeoutMs: 10_000 });
  try {
    const stopped = s.waitForEvent('stopped', { timeoutMs: 15_000 });
    const initialized = s.waitForEvent('initialized', { timeoutMs: 10_000 });
    await s.request('attach', attach);
    await initialized;
    const body = await s.request('setBreakpoints', { source: { path: clientFile }, breakpoints: [{ line }] });
    const [bp] = body.breakpoints as { verified: boolean; line?: number; message?: string }[];
    assert.equal(bp!.verified, true, `not verified: ${JSON.stringify(bp)}`);
    await s.request('configurationDone');
    const stop = await stopped;
    assert.equal(stop.reason, 'breakpoint', JSON.stringify(stop));
    const { stackFrames } = await s.request('stackTrace', { threadId: stop.threadId, levels: 1 });
    assert.equal(stackFrames[0].line, line);
    if (attach.pathMappings) assert.equal(stackFrames[0].source.path, clientFile, 'the stop is shown in the client\'s file');
    await s.disconnect();
  } finally {
    s.close();
  }
}

const PY_FILES = {
  'pkg/__init__.py': '',
  'pkg/work.py': 'def work(n):\n    total = n * 2\n    return total\n',
  'main.py':
    'import os, sys, time\nfrom pkg.work import work\nprint("client file visible:", os.path.exists(sys.argv[1]), flush=True)\n' +
    'end = time.time() + 60\nwhile time.time() < end:\n    work(3)\n    time.sleep(0.002)\n',
};

const NODE_FILES = {
  'lib/work.mjs': 'export function work(n) {\n  const total = n * 2;\n  return total;\n}\n',
  'main.mjs':
    "import { existsSync } from 'node:fs';\nimport { work } from './lib/work.mjs';\nconsole.log(`client file visible: ${existsSync(process.argv[2])}`);\n" +
    'const end = Date.now() + 60_000;\nconst timer = setInterval(() => { work(3); if (Date.now() > end) clearInterval(timer); }, 2);\n',
};

for (const lang of ['python', 'node'] as const) {
  test(`${lang} agent: the client's checkout is hidden from the agent; breakpoints by its path verify and hit (pathMappings, then the name heuristic)`, { timeout: 90_000 }, async (t) => {
    requireUnshare();
    const { client, agent } = checkouts(t, lang === 'python' ? PY_FILES : NODE_FILES);
    const clientFile = join(client, lang === 'python' ? 'pkg/work.py' : 'lib/work.mjs');
    const port = await freePort();
    const command =
      lang === 'python'
        ? [PYTHON, '-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_HIDDEN', join(agent, 'main.py'), clientFile]
        : [process.execPath, '--import', join(ROOT, 'dist/src/agent-node/register.js'), join(agent, 'main.mjs'), clientFile];
    const program = spawnHiding(t, client, command, {
      cwd: agent,
      env: { ...process.env, PYTHONPATH: join(ROOT, 'python'), LR_HIDDEN: SECRET, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: SECRET },
    });
    await waitForPort(port, program.child);
    assert.equal(existsSync(clientFile), true, 'the client sees its own file');
    assert.equal(await visibility(program), 'false', "the agent's side must not see the client's file");
    await breakAt(port, clientFile, 2, { pathMappings: [{ localRoot: client, remoteRoot: agent }] });
    await breakAt(port, clientFile, 2, {});
  });
}

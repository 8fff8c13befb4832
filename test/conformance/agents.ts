// How the shared scenarios start each agent: the Node.js agent through `node --import longreach/register` and
// the Python agent through `python3 -m longreach`, each running its twin of the conformance fixture.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';

export type Lang = 'node' | 'python';

export interface AgentKind {
  lang: Lang;
  app: string;
  helper: string;
  /** Starts the fixture in `mode`, waiting for a debugger, listening on 127.0.0.1:port. */
  launch(options: LaunchOptions): ChildProcess;
}

export interface LaunchOptions {
  mode: string;
  port: number;
  secret: string;
  tls?: { certfile: string; keyfile: string };
}

const NODE_DIR = join(ROOT, 'test/fixtures/node/conformance');
const PYTHON_DIR = join(ROOT, 'test/fixtures/python/conformance');

export const AGENTS: AgentKind[] = [
  {
    lang: 'node',
    app: join(NODE_DIR, 'app.mjs'),
    helper: join(NODE_DIR, 'helper.mjs'),
    launch({ mode, port, secret, tls }) {
      const env: NodeJS.ProcessEnv = { ...process.env, LONGREACH_LISTEN: `127.0.0.1:${port}`, LONGREACH_SECRET: secret, LONGREACH_WAIT: '1' };
      if (tls) Object.assign(env, { LONGREACH_CERTFILE: tls.certfile, LONGREACH_KEYFILE: tls.keyfile });
      return spawn(process.execPath, ['--import', join(ROOT, 'dist/src/agent-node/register.js'), join(NODE_DIR, 'app.mjs'), mode], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    },
  },
  {
    lang: 'python',
    app: join(PYTHON_DIR, 'app.py'),
    helper: join(PYTHON_DIR, 'helper.py'),
    launch({ mode, port, secret, tls }) {
      const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: join(ROOT, 'python'), LR_CONFORMANCE_SECRET: secret };
      const args = ['-m', 'longreach', '--listen', `127.0.0.1:${port}`, '--secret-env', 'LR_CONFORMANCE_SECRET', '--wait'];
      if (tls) args.push('--certfile', tls.certfile, '--keyfile', tls.keyfile);
      args.push(join(PYTHON_DIR, 'app.py'), mode);
      return spawn(process.env.LONGREACH_TEST_PYTHON ?? 'python3', args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: PYTHON_DIR });
    },
  },
];

/** The 1-based line of the line in `file` marked `@marker`. */
export function markerLine(file: string, marker: string): number {
  const lines = readFileSync(file, 'utf8').split('\n');
  const index = lines.findIndex((l) => new RegExp(`@${marker}\\b`).test(l));
  if (index < 0) throw new Error(`${file} has no @${marker} marker`);
  return index + 1;
}

export { freePort } from '../helpers/ports.js';

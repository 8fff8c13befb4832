// The server core must never keep its host process alive, and must refuse bad options eagerly.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '../../src/server/server.js';
import { ROOT } from '../helpers/paths.js';

test('a program that starts the server and has nothing else to do exits, with its exit code', async () => {
  const server = join(ROOT, 'dist/src/server/index.js');
  const script = `
    const { startServer } = await import(${JSON.stringify(server)});
    const s = await startServer({ secret: 'x', host: '127.0.0.1', port: 0, createSession: () => ({ handle() {}, close() {} }) });
    const net = await import('node:net');
    // An idle client connection must not hold the process either.
    net.connect(s.port, '127.0.0.1').unref();
    process.exitCode = 7;`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the process was kept alive by the debug server'));
    }, 10_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 7);
  assert.equal(output, '', 'nothing printed by the server');
});

test('options are validated eagerly, naming the option', async () => {
  const createSession = () => ({ handle() {}, close() {} });
  await assert.rejects(startServer({ secret: '', createSession }), { code: 'LR_BAD_OPTION', message: /^secret / });
  await assert.rejects(startServer({ secret: 's', port: 70000, createSession }), { code: 'LR_BAD_OPTION', message: /^port / });
  await assert.rejects(startServer({ secret: 's', tls: { cert: 'x', key: '' }, createSession }), { code: 'LR_BAD_OPTION', message: /^tls / });
  await assert.rejects(startServer({ secret: 's', host: '127.0.0.1', port: 0, tls: { cert: 'not a cert', key: 'not a key' }, createSession }), { code: 'LR_CERT' });
});

test('a port in use is LR_ADDRESS_IN_USE; no secret on a public address warns once, loopback does not', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const createSession = () => ({ handle() {}, close() {} });
  await assert.rejects(startServer({ secret: 's', host: '127.0.0.1', port, createSession }), { code: 'LR_ADDRESS_IN_USE', message: /already in use; choose another port/ });

  const warnings: string[] = [];
  const open = await startServer({ secret: null, host: '0.0.0.0', port: 0, createSession, warn: (w) => warnings.push(w) });
  await open.close();
  const local = await startServer({ secret: null, host: '127.0.0.1', port: 0, createSession, warn: (w) => warnings.push(w) });
  await local.close();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /^longreach: WARNING: debug server on 0\.0\.0\.0:\d+ accepts anyone without a secret/);
});

// `longreach listen` bad input and an empty hub, through the built CLI: every mistake gets a clear message and a
// status, the secret is never taken from the command line, and a hub with no agent says so when listed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { HUB_SECRET, startHubProcess } from './hub-helpers.js';

test('listen: bad input is refused with what to do', async () => {
  const cases: Array<[string[], RegExp, number]> = [
    [[], /listen needs one \[HOST:\]PORT/, 2],
    [['5678'], /listen needs the secret .* --secret-file FILE or --secret-env VAR/, 2],
    [['foo', '--secret-env', 'LR_H'], /listen address "foo" is not \[HOST:\]PORT/, 2],
    [['99999', '--secret-env', 'LR_H'], /is not \[HOST:\]PORT/, 2],
    [['0', '--secret-env', 'LR_UNSET_HERE'], /LR_UNSET_HERE: that environment variable is not set/, 2],
    [['0', '--secret-env', 'LR_H', '--certfile', 'c.pem'], /--certfile and --keyfile go together/, 2],
    [['0', '--secret-env', 'LR_H', '--certfile', '/no/cert.pem', '--keyfile', '/no/key.pem'], /LR_CERT.*\/no\/cert\.pem does not exist/, 1],
    [['0', '--secret', 'x'], /Unknown option '--secret'/, 2],
  ];
  for (const [args, pattern, code] of cases) {
    const r = await runCli(['listen', ...args], { env: { LR_H: 'h' } });
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
  }
});

test('listen: a port in use is LR_ADDRESS_IN_USE; a hub with no agent says so when listed', { timeout: 30_000 }, async (t) => {
  const hub = await startHubProcess(t);
  const busy = await runCli(['listen', `127.0.0.1:${hub.port}`, '--secret-env', 'LR_H'], { env: { LR_H: 'h' } });
  assert.equal(busy.code, 1);
  assert.match(busy.stderr, /LR_ADDRESS_IN_USE/);
  const listed = await runCli(['list', `tcp://127.0.0.1:${hub.port}`, '--secret-env', 'LR_H'], { env: { LR_H: HUB_SECRET } });
  assert.equal(listed.code, 1);
  assert.match(listed.stdout, /LR_NO_SUCH_PROCESS.*this hub has no agent connected yet/);
  assert.match(hub.stdout(), /agents: {2}python -m longreach --connect 127\.0\.0\.1:\d+ --secret-env VAR/);
  assert.doesNotMatch(hub.stdout() + hub.stderr(), new RegExp(HUB_SECRET));
});

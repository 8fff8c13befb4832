import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePathMapping, toLocalPath, toRemotePath } from '../../src/client/path-map.js';

test('--path-map LOCAL=REMOTE: the local side is made absolute; malformed forms say the expected shape', () => {
  assert.deepEqual(parsePathMapping('./src=/srv/app/src', '/home/me/proj'), { localRoot: '/home/me/proj/src', remoteRoot: '/srv/app/src' });
  assert.deepEqual(parsePathMapping('/a=C:\\app', '/x'), { localRoot: '/a', remoteRoot: 'C:\\app' });
  for (const bad of ['', 'nosign', '=/remote', 'local=']) {
    assert.throws(() => parsePathMapping(bad), { code: 'LR_BAD_OPTION', message: /--path-map takes LOCAL=REMOTE/ });
  }
});

test('paths map both ways under a root, and only under it', () => {
  const maps = [{ localRoot: '/home/me/proj', remoteRoot: '/srv/app' }];
  assert.equal(toRemotePath('/home/me/proj/pkg/mod.py', maps), '/srv/app/pkg/mod.py');
  assert.equal(toLocalPath('/srv/app/pkg/mod.py', maps), '/home/me/proj/pkg/mod.py');
  assert.equal(toRemotePath('/home/me/project2/x.py', maps), '/home/me/project2/x.py', 'a sibling with a common prefix is not under the root');
  assert.equal(toLocalPath('/elsewhere/x.py', maps), '/elsewhere/x.py');
  assert.equal(toRemotePath('/home/me/proj', maps), '/srv/app');
});

test('a Windows remote root gets backslashes; a Windows remote path maps back with slashes', () => {
  const maps = [{ localRoot: '/home/me/proj', remoteRoot: 'C:\\srv\\app\\' }];
  assert.equal(toRemotePath('/home/me/proj/pkg/mod.py', maps), 'C:\\srv\\app\\pkg\\mod.py');
  assert.equal(toLocalPath('C:\\srv\\app\\pkg\\mod.py', maps), '/home/me/proj/pkg/mod.py');
});

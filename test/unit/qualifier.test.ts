import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandPorts, formatQualifier, maskSecrets, parseQualifier } from '../../src/protocol/qualifier.js';

test('the plain forms', () => {
  assert.deepEqual(parseQualifier('tcp://s3cret@example.com:5679'), { scheme: 'tcp', secret: 's3cret', host: 'example.com', port: 5679, portEnd: 5679, insecure: false });
  assert.deepEqual(parseQualifier('tcps://10.0.0.7'), { scheme: 'tcps', secret: null, host: '10.0.0.7', port: 5678, portEnd: 5678, insecure: false });
  assert.equal(parseQualifier('TCP://h').scheme, 'tcp');
});

test('IPv6 in brackets, percent-encoded secrets', () => {
  const q = parseQualifier('tcp://p%40ss%3Aw%2Frd@[::1]:6000');
  assert.equal(q.secret, 'p@ss:w/rd');
  assert.equal(q.host, '::1');
  assert.equal(q.port, 6000);
  assert.equal(parseQualifier('tcp://[fe80::1%25eth0]').host, 'fe80::1%25eth0');
  assert.equal(formatQualifier(q, { revealSecret: true }), 'tcp://p%40ss%3Aw%2Frd@[::1]:6000');
});

test('port ranges only where listing asks for them', () => {
  const q = parseQualifier('tcp://s@host:5678-5680', { allowRange: true });
  assert.deepEqual(expandPorts(q).map((x) => x.port), [5678, 5679, 5680]);
  assert.equal(formatQualifier(q), 'tcp://***@host:5678-5680');
  assert.throws(() => parseQualifier('tcp://s@host:5678-5680'), { code: 'LR_BAD_QUALIFIER', message: /only accepted for listing/ });
  assert.throws(() => parseQualifier('tcp://host:5690-5678', { allowRange: true }), { message: /runs backwards/ });
  assert.throws(() => parseQualifier('tcp://host:1-5000', { allowRange: true }), { message: /at most 1024/ });
});

test('TLS options as query parameters', () => {
  const fp = 'sha256:' + 'ab'.repeat(32);
  const q = parseQualifier(`tcps://s@h:1?ca=/etc/ca.pem&fingerprint=${fp}&insecure=1`);
  assert.equal(q.ca, '/etc/ca.pem');
  assert.equal(q.fingerprint, fp);
  assert.equal(q.insecure, true);
  assert.equal(formatQualifier(q), `tcps://***@h:1?ca=/etc/ca.pem&fingerprint=${fp}&insecure=1`);
  assert.equal(parseQualifier('tcps://h?fingerprint=' + 'AB:'.repeat(31) + 'AB').fingerprint, 'AB:'.repeat(31) + 'AB');
});

const malformed: [string, RegExp][] = [
  ['', /empty qualifier/],
  ['host:5678', /missing tcp:\/\/ or tcps:\/\//],
  ['http://host', /unknown scheme http/],
  ['tcp://', /missing host/],
  ['tcp://s@:5678', /missing host/],
  ['tcp://@host', /empty secret/],
  ['tcp://bad%zz@host', /malformed %-escape/],
  ['tcp://host:', /missing port/],
  ['tcp://host:0', /1-65535/],
  ['tcp://host:70000', /1-65535/],
  ['tcp://host:12ab', /invalid port/],
  ['tcp://::1:5678', /IPv6 addresses in brackets/],
  ['tcp://[::1', /unclosed \[/],
  ['tcp://[zz]:1', /invalid IPv6/],
  ['tcp://host/path', /no \/path/],
  ['tcp://host#frag', /no #fragment/],
  ['tcp://host?ca=x', /needs tcps:\/\//],
  ['tcps://host?color=red', /unknown option "color"/],
  ['tcps://host?fingerprint=sha256:abc', /fingerprint must look like/],
  ['tcps://host?insecure=maybe', /insecure takes 1 or 0/],
  ['tcps://host?ca=', /needs a value/],
  ['tcp://ho st', /invalid host/],
];
for (const [input, why] of malformed) {
  test(`malformed qualifier ${JSON.stringify(input)} gets an error with the expected shape`, () => {
    assert.throws(() => parseQualifier(input), (err: any) => {
      assert.equal(err.code, 'LR_BAD_QUALIFIER');
      assert.match(err.message, why);
      assert.match(err.message, /expected tcp:\/\/\[SECRET@\]HOST\[:PORT\]/);
      return true;
    });
  });
}

test('the secret never appears in an error about the qualifier', () => {
  assert.throws(() => parseQualifier('tcp://hunter2@host:99999'), (err: any) => {
    assert.doesNotMatch(err.message, /hunter2/);
    assert.match(err.message, /tcp:\/\/\*\*\*@host:99999/);
    return true;
  });
});

test('maskSecrets masks every qualifier in a text, but not the usage placeholder', () => {
  assert.equal(maskSecrets('expected tcp://[SECRET@]HOST, got tcp://[x@h'), 'expected tcp://[SECRET@]HOST, got tcp://***@h');
  assert.equal(maskSecrets('to tcp://a@h:1 and tcps://b%40c@[::1]:2?x=1 and tcp://h:3'), 'to tcp://***@h:1 and tcps://***@[::1]:2?x=1 and tcp://h:3');
});

test('?pid= names one process of a job or hub, on either scheme', () => {
  const q = parseQualifier('tcp://s@h:5678?pid=4242');
  assert.equal(q.pid, 4242);
  assert.equal(formatQualifier(q), 'tcp://***@h:5678?pid=4242');
  const fp = 'sha256:' + 'ab'.repeat(32);
  const t = parseQualifier(`tcps://h:1?pid=7&fingerprint=${fp}`);
  assert.equal(t.pid, 7);
  assert.equal(formatQualifier(t), `tcps://h:1?pid=7&fingerprint=${fp}`);
  assert.equal(parseQualifier('tcp://h').pid, undefined);
  for (const bad of ['tcp://h?pid=', 'tcp://h?pid=0', 'tcp://h?pid=-3', 'tcp://h?pid=12a', 'tcp://h?pid=99999999999', 'tcp://h?pid=1&pid=2']) {
    assert.throws(() => parseQualifier(bad), { code: 'LR_BAD_QUALIFIER', message: /pid.*expected tcp:\/\/\[SECRET@\]HOST\[:PORT\]\[\?pid=PID\]/ }, bad);
  }
  assert.throws(() => parseQualifier('tcp://h:5678-5680?pid=4', { allowRange: true }), { code: 'LR_BAD_QUALIFIER', message: /one port, not a range/ });
});

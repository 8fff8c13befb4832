// Client trust in an agent's certificate (docs/protocol.md section 6), over real TLS on 127.0.0.1.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import * as tls from 'node:tls';
import { createSelfSignedCertificate, type CreatedCertificate } from '../../src/protocol/certs.js';
import type { LongreachError } from '../../src/protocol/errors.js';
import { addKnownHost } from '../../src/protocol/known-hosts.js';
import { looksLikeTlsRecord, serverTlsFromPem } from '../../src/protocol/tls.js';
import { connectTls, type CertificateInfo, type ConnectTlsOptions, type TlsConnection } from '../../src/protocol/trust.js';
import { closedPort, createTestCa, startPlainServer, startTlsServer, tempDir, writeTemp } from '../helpers/tls-fixtures.js';

const HOST = '127.0.0.1';

async function agent(t: TestContext, created?: CreatedCertificate) {
  const cert = created ?? (await createSelfSignedCertificate());
  const running = await startTlsServer(t, serverTlsFromPem({ cert: cert.certPem, key: cert.keyPem }).options);
  const dir = tempDir(t);
  return { ...running, cert, dir, knownHostsPath: join(dir, 'known_hosts') };
}

async function connect(t: TestContext, options: ConnectTlsOptions): Promise<TlsConnection> {
  const connection = await connectTls({ timeoutMs: 5000, ...options });
  t.after(() => connection.socket.destroy());
  return connection;
}

function rejectsWith(code: string, message?: RegExp) {
  return (err: LongreachError) => {
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };
}

test('(1) a CA file: the self-signed certificate itself, or a CA that issued the server certificate', async (t) => {
  const a = await agent(t);
  const caFile = writeTemp(a.dir, 'cert.pem', a.cert.certPem);
  const first = await connect(t, { host: HOST, port: a.port, ca: caFile, knownHostsPath: a.knownHostsPath });
  assert.equal(first.trust.method, 'ca');
  assert.equal(first.warning, undefined);
  assert.equal(existsSync(a.knownHostsPath), false, 'known_hosts is not needed when a CA vouches');

  const ca = await createTestCa();
  const issued = await ca.issue(['localhost', HOST]);
  const server = await startTlsServer(t, serverTlsFromPem({ cert: issued.certPem, key: issued.keyPem }).options);
  const companyCa = writeTemp(a.dir, 'company-ca.pem', ca.certPem);
  const viaCa = await connect(t, { host: HOST, port: server.port, ca: companyCa, knownHostsPath: a.knownHostsPath });
  assert.equal(viaCa.trust.method, 'ca');
  assert.equal(viaCa.trust.certificate.issuer, 'CN=Longreach Test CA');
  // Without the CA file the same server is unknown.
  await assert.rejects(connectTls({ host: HOST, port: server.port, knownHostsPath: a.knownHostsPath }), rejectsWith('LR_TLS_UNTRUSTED', /issued by a CA that is not trusted/));
});

test('(1) a CA-valid certificate for another host name is not trusted', async (t) => {
  const ca = await createTestCa();
  const issued = await ca.issue(['other.example']);
  const server = await startTlsServer(t, serverTlsFromPem({ cert: issued.certPem, key: issued.keyPem }).options);
  const dir = tempDir(t);
  const caFile = writeTemp(dir, 'ca.pem', ca.certPem);
  await assert.rejects(
    connectTls({ host: HOST, port: server.port, ca: caFile, knownHostsPath: join(dir, 'kh') }),
    rejectsWith('LR_TLS_UNTRUSTED', /it is not issued for 127\.0\.0\.1 \(it names DNS:other\.example\)/),
  );
});

test('(2) a pinned fingerprint: any spelling matches; a mismatch shows both fingerprints', async (t) => {
  const a = await agent(t);
  const colons = `SHA256:${a.cert.fingerprint.slice(7).toUpperCase().match(/../g)!.join(':')}`;
  const pinned = await connect(t, { host: HOST, port: a.port, fingerprint: colons, knownHostsPath: a.knownHostsPath });
  assert.equal(pinned.trust.method, 'pinned');
  assert.equal(existsSync(a.knownHostsPath), false);

  const wrong = (await createSelfSignedCertificate()).fingerprint;
  await assert.rejects(connectTls({ host: HOST, port: a.port, fingerprint: wrong, knownHostsPath: a.knownHostsPath }), (err: LongreachError) => {
    assert.equal(err.code, 'LR_TLS_CHANGED');
    assert.match(err.message, /possible man-in-the-middle/);
    assert.ok(err.message.includes(`expected ${wrong}`));
    assert.ok(err.message.includes(`presented ${a.cert.fingerprint}`));
    return true;
  });

  // The pin is checked even when a CA vouches for the certificate, and even with insecure=1.
  const caFile = writeTemp(a.dir, 'ca.pem', a.cert.certPem);
  await assert.rejects(connectTls({ host: HOST, port: a.port, ca: caFile, fingerprint: wrong }), rejectsWith('LR_TLS_CHANGED'));
  await assert.rejects(connectTls({ host: HOST, port: a.port, insecure: true, fingerprint: wrong }), rejectsWith('LR_TLS_CHANGED'));
  await a.closedConnections(3);
  assert.equal(Buffer.concat(a.received).length, 0, 'nothing was sent to the server on any connection');
});

test('(3) first use: shown, trusted always, then silent; a changed certificate is a hard error', async (t) => {
  const a = await agent(t);
  const asked: CertificateInfo[] = [];
  const decide = async (info: CertificateInfo) => {
    asked.push(info);
    return 'always' as const;
  };
  const first = await connect(t, { host: HOST, port: a.port, knownHostsPath: a.knownHostsPath, decide });
  assert.equal(first.trust.method, 'always');
  assert.equal(asked.length, 1);
  const info = asked[0]!;
  assert.equal(info.fingerprint, a.cert.fingerprint);
  assert.equal(info.host, HOST);
  assert.equal(info.port, a.port);
  assert.equal(info.subject, 'CN=localhost, O=Longreach self-signed');
  assert.equal(info.issuer, info.subject);
  assert.equal(info.selfSigned, true);
  assert.equal(info.validTo.getTime(), a.cert.validTo.getTime());
  assert.equal(info.validFrom.getTime(), a.cert.validFrom.getTime());
  assert.match(info.caProblem ?? '', /self-signed/);
  assert.equal(readFileSync(a.knownHostsPath, 'utf8'), `127.0.0.1:${a.port} ${a.cert.fingerprint}\n`);

  const second = await connect(t, { host: HOST, port: a.port, knownHostsPath: a.knownHostsPath, decide });
  assert.equal(second.trust.method, 'known-host');
  assert.equal(asked.length, 1, 'not asked again');

  // The agent now presents another certificate on the same address.
  const replaced = await createSelfSignedCertificate();
  a.server.setSecureContext({ cert: replaced.certPem, key: replaced.keyPem });
  await assert.rejects(connectTls({ host: HOST, port: a.port, knownHostsPath: a.knownHostsPath, decide }), (err: LongreachError) => {
    assert.equal(err.code, 'LR_TLS_CHANGED');
    assert.match(err.message, /has changed since you trusted it \(possible man-in-the-middle\)/);
    assert.ok(err.message.includes(a.cert.fingerprint), 'shows the known fingerprint');
    assert.ok(err.message.includes(replaced.fingerprint), 'shows the new fingerprint');
    assert.ok(err.message.includes(a.knownHostsPath), 'says which file to edit');
    return true;
  });
  assert.equal(asked.length, 1, 'a changed certificate is never offered for a decision');
});

test('(3) the known_hosts path comes from LONGREACH_KNOWN_HOSTS when none is given', async (t) => {
  const a = await agent(t);
  const saved = process.env['LONGREACH_KNOWN_HOSTS'];
  process.env['LONGREACH_KNOWN_HOSTS'] = a.knownHostsPath;
  t.after(() => {
    if (saved === undefined) delete process.env['LONGREACH_KNOWN_HOSTS'];
    else process.env['LONGREACH_KNOWN_HOSTS'] = saved;
  });
  await addKnownHost(a.knownHostsPath, HOST, a.port, a.cert.fingerprint);
  const connection = await connect(t, { host: HOST, port: a.port });
  assert.equal(connection.trust.method, 'known-host');
});

test('(3) no terminal: LR_TLS_UNTRUSTED with the exact fingerprint qualifier, and nothing sent', async (t) => {
  const a = await agent(t);
  await assert.rejects(connectTls({ host: HOST, port: a.port, knownHostsPath: a.knownHostsPath }), (err: LongreachError) => {
    assert.equal(err.code, 'LR_TLS_UNTRUSTED');
    assert.ok(err.message.includes(`?fingerprint=${a.cert.fingerprint}`), err.message);
    assert.ok(err.message.includes(`tcps://***@127.0.0.1:${a.port}?fingerprint=${a.cert.fingerprint}`));
    assert.match(err.message, /self-signed/);
    assert.match(err.message, /subject CN=localhost/);
    assert.equal(err.details['fingerprint'], a.cert.fingerprint);
    return true;
  });
  assert.equal(existsSync(a.knownHostsPath), false);
  // The hint really works: pin exactly what the message said.
  const pinned = await connect(t, { host: HOST, port: a.port, fingerprint: a.cert.fingerprint, knownHostsPath: a.knownHostsPath });
  assert.equal(pinned.trust.method, 'pinned');
  await a.closedConnections(1);
  assert.equal(Buffer.concat(a.received).length, 0, 'nothing was sent before the certificate was trusted');
});

test('(3) trust once is not remembered; abort refuses', async (t) => {
  const a = await agent(t);
  const once1 = await connect(t, { host: HOST, port: a.port, knownHostsPath: a.knownHostsPath, decide: async () => 'once' });
  assert.equal(once1.trust.method, 'once');
  assert.equal(existsSync(a.knownHostsPath), false);
  let asked = 0;
  await assert.rejects(
    connectTls({ host: HOST, port: a.port, knownHostsPath: a.knownHostsPath, decide: async () => (asked++, 'abort') }),
    rejectsWith('LR_TLS_UNTRUSTED', /you chose not to trust the certificate of 127\.0\.0\.1:\d+ \(sha256:[0-9a-f]{64}\); nothing was sent/),
  );
  assert.equal(asked, 1, 'asked again: "once" was not remembered');
  assert.equal(existsSync(a.knownHostsPath), false);
});

test('(3) the server hangs up while the person decides: LR_CLOSED, not a dead socket', async (t) => {
  const cert = await createSelfSignedCertificate();
  const server = tls.createServer(serverTlsFromPem({ cert: cert.certPem, key: cert.keyPem }).options, (s) => s.end());
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const dir = tempDir(t);
  await assert.rejects(
    connectTls({
      host: HOST,
      port,
      knownHostsPath: join(dir, 'kh'),
      decide: async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return 'always';
      },
    }),
    rejectsWith('LR_CLOSED', /closed the connection while its certificate was being checked; connect again \(the certificate is now in known_hosts\)/),
  );
});

test('(4) insecure=1 connects with a loud warning and remembers nothing', async (t) => {
  const a = await agent(t);
  let asked = 0;
  const connection = await connect(t, { host: HOST, port: a.port, insecure: true, knownHostsPath: a.knownHostsPath, decide: async () => (asked++, 'abort') });
  assert.equal(connection.trust.method, 'insecure');
  assert.match(connection.warning ?? '', /^longreach: WARNING: TLS certificate checks are OFF for 127\.0\.0\.1:\d+ \(insecure=1\)/);
  assert.ok(connection.warning?.includes(a.cert.fingerprint));
  assert.equal(asked, 0);
  assert.equal(existsSync(a.knownHostsPath), false);
  // With a matching pin the connection is verified after all: no warning.
  const pinned = await connect(t, { host: HOST, port: a.port, insecure: true, fingerprint: a.cert.fingerprint });
  assert.equal(pinned.trust.method, 'pinned');
  assert.equal(pinned.warning, undefined);
});

test('a TLS client to a plain Longreach server: LR_TLS_MISMATCH, use tcp://', async (t) => {
  // What a plain agent does with a ClientHello (protocol.md section 2): a framing error event, then close.
  const frame = (body: object) => {
    const json = JSON.stringify(body);
    return `Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
  };
  const answering = await startPlainServer(t, (socket) => {
    socket.once('data', () =>
      socket.end(frame({ seq: 1, type: 'event', event: 'longreach/error', body: { code: 'LR_BAD_FRAME', message: 'non-ASCII byte 0x16 in a frame header' } })),
    );
  });
  const closing = await startPlainServer(t, (socket) => socket.once('data', () => socket.destroy()));
  for (const port of [answering.port, closing.port]) {
    await assert.rejects(
      connectTls({ host: HOST, port, timeoutMs: 5000 }),
      rejectsWith('LR_TLS_MISMATCH', new RegExp(`^the server at 127\\.0\\.0\\.1:${port} does not speak TLS; use tcp:// instead$`)),
    );
  }
});

test('a plain client to a TLS server: closed without a frame; a TLS client still works afterwards', async (t) => {
  const a = await agent(t);
  const socket = net.connect(a.port, HOST);
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  socket.write('Content-Length: 42\r\n\r\n{"seq":1,"type":"request","command":"initialize"}');
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  await once(socket, 'close');
  const got = Buffer.concat(chunks);
  assert.ok(got.length === 0 || looksLikeTlsRecord(got), `only TLS bytes (an alert) or nothing, got ${JSON.stringify(got.toString('latin1'))}`);
  assert.equal(got.includes('Content-Length'), false);
  const ok = await connect(t, { host: HOST, port: a.port, fingerprint: a.cert.fingerprint });
  assert.equal(ok.trust.method, 'pinned');
});

test('TLS older than 1.2 is refused on both sides', async (t) => {
  const cert = await createSelfSignedCertificate();
  // A server that offers only TLS 1.0/1.1 (seclevel 0 so that OpenSSL 3 still speaks them at all)...
  const old = await startTlsServer(t, { cert: cert.certPem, key: cert.keyPem, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  // ...that a TLS 1.1 client can use, so the refusal below is about the version.
  const legacy = tls.connect({ host: HOST, port: old.port, ca: [cert.certPem], minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' });
  t.after(() => legacy.destroy());
  await once(legacy, 'secureConnect');
  assert.equal(legacy.getProtocol(), 'TLSv1.1');
  await assert.rejects(
    connectTls({ host: HOST, port: old.port, fingerprint: cert.fingerprint, timeoutMs: 5000 }),
    rejectsWith('LR_TLS_FAILED', /offers only TLS versions older than 1\.2 .*TLS 1\.2 or newer on both sides/),
  );

  // Our server refuses a client that stops at TLS 1.1, and serves TLS 1.2.
  const a = await agent(t, cert);
  const client11 = tls.connect({ host: HOST, port: a.port, ca: [cert.certPem], minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  t.after(() => client11.destroy());
  const [err] = (await once(client11, 'error')) as [NodeJS.ErrnoException];
  assert.match(err.code ?? '', /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL/);
  const client12 = tls.connect({ host: HOST, port: a.port, ca: [cert.certPem], maxVersion: 'TLSv1.2' });
  t.after(() => client12.destroy());
  await once(client12, 'secureConnect');
  assert.equal(client12.getProtocol(), 'TLSv1.2');
});

test('connection failures: refused port, unknown host, silent server (bounded wait), bad options', async (t) => {
  const port = await closedPort();
  await assert.rejects(connectTls({ host: HOST, port }), rejectsWith('LR_REFUSED', /refused; is the agent running and listening on that port\?/));
  await assert.rejects(connectTls({ host: 'no-such-host.invalid', port: 5678, timeoutMs: 5000 }), rejectsWith('LR_UNREACHABLE', /no-such-host\.invalid/));
  const silent = await startPlainServer(t, () => undefined);
  await assert.rejects(connectTls({ host: HOST, port: silent.port, timeoutMs: 300 }), rejectsWith('LR_TIMEOUT', /within 300 ms/));
  await assert.rejects(connectTls({ host: HOST, port: 0 }), rejectsWith('LR_BAD_OPTION', /port must be a whole number from 1 to 65535/));
  await assert.rejects(connectTls({ host: '', port: 1 }), rejectsWith('LR_BAD_OPTION', /host must be a non-empty string/));
  await assert.rejects(connectTls({ host: HOST, port: 1, timeoutMs: -1 }), rejectsWith('LR_BAD_OPTION', /timeoutMs/));
  await assert.rejects(connectTls({ host: HOST, port: 1, fingerprint: 'abc' }), rejectsWith('LR_BAD_QUALIFIER', /expected sha256: followed by 64 hex digits/));
  await assert.rejects(connectTls({ host: HOST, port: 1, ca: '/nonexistent/ca.pem' }), rejectsWith('LR_CERT', /CA file \/nonexistent\/ca\.pem does not exist/));
});

const PYTHON_SERVER = `
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
srv = socket.socket()
srv.settimeout(20)
srv.bind(('127.0.0.1', 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
with ctx.wrap_socket(conn, server_side=True) as s:
    s.sendall(b'python:' + s.recv(100))
`;

test("Python's ssl module serves the generated certificate, and our client trusts it by CA file and by pin", async (t) => {
  const cert = await createSelfSignedCertificate();
  const dir = tempDir(t);
  const certFile = writeTemp(dir, 'cert.pem', cert.certPem);
  const keyFile = writeTemp(dir, 'key.pem', cert.keyPem);
  for (const trust of [{ ca: certFile }, { fingerprint: cert.fingerprint }]) {
    const child = spawn(process.env['LONGREACH_PYTHON'] ?? 'python3', ['-c', PYTHON_SERVER, certFile, keyFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill());
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const [line] = (await Promise.race([
      once(child.stdout, 'data'),
      once(child, 'exit').then(() => assert.fail(`python exited: ${stderr}`)),
    ])) as [Buffer];
    const port = Number(line.toString().trim());
    const connection = await connect(t, { host: HOST, port, knownHostsPath: join(dir, 'kh'), ...trust });
    assert.equal(connection.trust.method, 'ca' in trust ? 'ca' : 'pinned');
    assert.match(connection.socket.getProtocol() ?? '', /^TLSv1\.[23]$/);
    connection.socket.write('ping');
    const [reply] = (await once(connection.socket, 'data')) as [Buffer];
    assert.equal(reply.toString(), 'python:ping');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, stderr);
  }
});

// TLS fixtures for tests: a certificate authority with leaves it signs, TLS and plain servers on 127.0.0.1:0,
// and temporary directories. Everything is real: real keys, real sockets.

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { TestContext } from 'node:test';

const crypto = webcrypto;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

function pem(label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export interface TestCa {
  certPem: string;
  /** Issues a server certificate for `hosts` signed by this CA. */
  issue(hosts: string[]): Promise<{ certPem: string; keyPem: string }>;
}

/** A throwaway certificate authority (CA:true, keyCertSign), as a company CA would be. */
export async function createTestCa(): Promise<TestCa> {
  const keys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=Longreach Test CA',
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    certPem: pem('CERTIFICATE', caCert.rawData),
    async issue(hosts) {
      const leafKeys = (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
      const leaf = await x509.X509CertificateGenerator.create(
        {
          subject: `CN=${hosts[0] ?? 'localhost'}`,
          issuer: caCert.subject,
          notBefore: new Date(Date.now() - 3_600_000),
          notAfter: new Date(Date.now() + 86_400_000),
          publicKey: leafKeys.publicKey,
          signingKey: keys.privateKey,
          signingAlgorithm: EC,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
            new x509.SubjectAlternativeNameExtension(
              hosts.map((h) => (net.isIP(h) !== 0 ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })),
            ),
            await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
          ],
        },
        crypto,
      );
      return { certPem: pem('CERTIFICATE', leaf.rawData), keyPem: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey)) };
    },
  };
}

/** A temporary directory removed after the test. */
export function tempDir(t: TestContext, prefix = 'longreach-tls-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeTemp(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export interface RunningServer<S extends net.Server> {
  server: S;
  port: number;
  /** Bytes of application data each TLS connection received, in order of connection. */
  received: Buffer[];
  /** Resolves once `count` TCP connections have closed (fails after 5 s). */
  closedConnections(count: number): Promise<void>;
}

async function listen<S extends net.Server>(t: TestContext, server: S): Promise<{ port: number; closedConnections(count: number): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let closed = 0;
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      closed++;
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as net.AddressInfo).port;
  const closedConnections = async (count: number): Promise<void> => {
    const deadline = Date.now() + 5000;
    while (closed < count) {
      if (Date.now() > deadline) throw new Error(`only ${closed} of ${count} connections closed within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { port, closedConnections };
}

/** A TLS server that records what each client sends and answers nothing. */
export async function startTlsServer(t: TestContext, options: tls.TlsOptions): Promise<RunningServer<tls.Server>> {
  const received: Buffer[] = [];
  const server = tls.createServer(options, (socket) => {
    const index = received.push(Buffer.alloc(0)) - 1;
    socket.on('data', (chunk: Buffer) => {
      received[index] = Buffer.concat([received[index] ?? Buffer.alloc(0), chunk]);
    });
    socket.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  return { server, ...(await listen(t, server)), received };
}

/** A plain TCP server; `onConnection` decides what it does. */
export async function startPlainServer(
  t: TestContext,
  onConnection: (socket: net.Socket) => void,
): Promise<RunningServer<net.Server>> {
  const server = net.createServer(onConnection);
  return { server, ...(await listen(t, server)), received: [] };
}

/** A port on 127.0.0.1 that nothing listens on (bound once, then closed). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

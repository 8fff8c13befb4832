// Versions carried in the handshake (docs/protocol.md section 3).

import { createRequire } from 'node:module';

export const PROTOCOL_VERSION = 1;

const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };

/** The npm package's version, which is also the Node agent's and the client's version. */
export const PACKAGE_VERSION: string = pkg.version;

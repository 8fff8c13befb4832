// Versions carried in the handshake (docs/protocol.md section 3).

import { join } from 'node:path';

export const PROTOCOL_VERSION = 1;

// the package's own package.json, from where this file runs (dist/src/protocol)
const pkg = require(join(__dirname, '..', '..', '..', 'package.json')) as { version: string };

/** The npm package's version, which is also the Node agent's and the client's version. */
export const PACKAGE_VERSION: string = pkg.version;

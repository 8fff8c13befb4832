export * from './errors.js';
export * from './framing.js';
export * from './auth.js';
export * from './qualifier.js';
export * from './connection.js';
export { PROTOCOL_VERSION, PACKAGE_VERSION } from './version.js';

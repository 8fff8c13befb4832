// HMAC-SHA256 challenge-response (docs/protocol.md section 4). Pure functions: no sockets here.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const AUTH_SCHEME = 'hmac-sha256';
export const NONCE_BYTES = 32;
export const MIN_CLIENT_NONCE_BYTES = 16;
export const MAX_CLIENT_NONCE_BYTES = 64;

export type ProofRole = 'client' | 'server';

export function makeNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** HMAC-SHA256(secret, "longreach-auth-v1 <role>" 0x00 serverNonce clientNonce), as lowercase hex. */
export function computeProof(secret: string, role: ProofRole, serverNonce: Buffer, clientNonce: Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.from(`longreach-auth-v1 ${role}`, 'latin1'))
    .update(Buffer.from([0]))
    .update(serverNonce)
    .update(clientNonce)
    .digest('hex');
}

/** Compares a received hex proof with the expected one in constant time (for proofs of the right shape). */
export function proofMatches(expectedHex: string, receivedHex: unknown): boolean {
  if (typeof receivedHex !== 'string' || !/^[0-9a-f]{64}$/.test(receivedHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(receivedHex, 'hex'));
}

/**
 * Constant-time comparison of two secrets of any length: both are reduced to HMACs under a random key first,
 * so neither the content nor the length leaks through timing.
 */
export function secretsEqual(expected: string, received: unknown): boolean {
  if (typeof received !== 'string') return false;
  const key = randomBytes(32);
  const a = createHmac('sha256', key).update(expected, 'utf8').digest();
  const b = createHmac('sha256', key).update(received, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Decodes a base64 nonce; null when it is not base64 of an allowed length. */
export function decodeNonce(value: unknown, min = MIN_CLIENT_NONCE_BYTES, max = MAX_CLIENT_NONCE_BYTES): Buffer | null {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return null;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length >= min && bytes.length <= max ? bytes : null;
}

/** Reverse connect (docs/protocol.md section 11): who proves, in the agent-to-hub handshake. */
export type HubProofRole = 'hub' | 'agent';

/** HMAC-SHA256(secret, "longreach-hub-v1 <role>" 0x00 agentNonce hubNonce), as lowercase hex. */
export function computeHubProof(secret: string, role: HubProofRole, agentNonce: Buffer, hubNonce: Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.from(`longreach-hub-v1 ${role}`, 'latin1'))
    .update(Buffer.from([0]))
    .update(agentNonce)
    .update(hubNonce)
    .digest('hex');
}

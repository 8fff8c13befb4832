"""HMAC-SHA256 challenge-response (docs/protocol.md section 4). Mechanism only: no sockets, no policy.

Nothing here logs, and no error message contains the secret, a proof or a nonce. hashlib and hmac are imported at
the first proof, not with the agent: they load OpenSSL, megabytes that every process the program forks would copy.
"""

import base64
import binascii
import os
import re

from longreach.errors import LongreachError

__all__ = ["new_nonce", "b64", "decode_client_nonce", "client_proof", "server_proof", "check_proof",
           "secrets_equal", "digests_equal", "NONCE_BYTES"]

NONCE_BYTES = 32
CLIENT_NONCE_MIN = 16
CLIENT_NONCE_MAX = 64
_CLIENT_LABEL = b"longreach-auth-v1 client\x00"
_SERVER_LABEL = b"longreach-auth-v1 server\x00"
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
# A per-process random key for comparing secrets as HMACs (section 4.2): equal-length digests, constant time.
_COMPARE_KEY = os.urandom(32)


def new_nonce():
    """32 bytes from the operating system's cryptographic random source."""
    return os.urandom(NONCE_BYTES)


def b64(data):
    return base64.b64encode(data).decode("ascii")


def decode_client_nonce(value):
    """The raw bytes of a base64 clientNonce (16-64 bytes), or LongreachError(LR_BAD_REQUEST)."""
    if not isinstance(value, str):
        raise LongreachError("LR_BAD_REQUEST", "authenticate needs \"clientNonce\": base64 of 16 to 64 random bytes")
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise LongreachError("LR_BAD_REQUEST", "\"clientNonce\" is not valid base64")
    if not CLIENT_NONCE_MIN <= len(raw) <= CLIENT_NONCE_MAX:
        raise LongreachError("LR_BAD_REQUEST", "\"clientNonce\" must decode to 16 to 64 bytes, got %d" % len(raw))
    return raw


def _key(secret):
    return secret.encode("utf-8")


def _hmac_sha256(key, data):
    import hashlib
    import hmac
    return hmac.new(key, data, hashlib.sha256)


def digests_equal(a, b):
    """Constant time in the content (hmac.compare_digest)."""
    import hmac
    return hmac.compare_digest(a, b)


def client_proof(secret, server_nonce, client_nonce):
    """proof = HMAC-SHA256(secret, "longreach-auth-v1 client" 0x00 serverNonce clientNonce), lowercase hex."""
    return _hmac_sha256(_key(secret), _CLIENT_LABEL + server_nonce + client_nonce).hexdigest()


def server_proof(secret, server_nonce, client_nonce):
    """serverProof: the same with the "server" label; proves to the client that the agent knows the secret."""
    return _hmac_sha256(_key(secret), _SERVER_LABEL + server_nonce + client_nonce).hexdigest()


def check_proof(secret, server_nonce, client_nonce, proof):
    """True when `proof` is the client proof for these nonces. Constant time in the proof's content."""
    if not isinstance(proof, str) or _HEX64.match(proof) is None:
        return False
    expected = client_proof(secret, server_nonce, client_nonce)
    return digests_equal(expected.encode("ascii"), proof.encode("ascii"))


def secrets_equal(expected, offered):
    """Compare a secret offered in attach arguments with ours in constant time (HMACs under a random key)."""
    if not isinstance(offered, str):
        return False
    mine = _hmac_sha256(_COMPARE_KEY, _key(expected)).digest()
    theirs = _hmac_sha256(_COMPARE_KEY, offered.encode("utf-8", "surrogatepass")).digest()
    return digests_equal(mine, theirs)

"""Content-Length framing (docs/protocol.md section 2): an incremental decoder and an encoder.

Mechanism only: the decoder turns bytes into message dicts or raises LongreachError with LR_FRAME_TOO_LARGE,
LR_BAD_FRAME or LR_BAD_MESSAGE; what to do about it (send longreach/error, close) is the server's business.
"""

import json
import re

from longreach.errors import LongreachError

__all__ = ["FrameDecoder", "encode", "dumps", "Encoded", "HEADER_LIMIT", "PRE_AUTH_BODY_LIMIT",
           "DEFAULT_BODY_LIMIT"]

HEADER_LIMIT = 1024
PRE_AUTH_BODY_LIMIT = 65536
DEFAULT_BODY_LIMIT = 16 * 1024 * 1024

_TERMINATOR = b"\r\n\r\n"
# Bytes allowed in the header part: printable ASCII, tab, CR, LF. translate(None, _ALLOWED) leaves the others.
_ALLOWED = bytes(bytearray([9, 10, 13] + list(range(0x20, 0x7F))))
_LENGTH_VALUE = re.compile(br"^ *([0-9]{1,15}) *$")


class FrameDecoder(object):
    """Feed bytes in, get messages out.

    `for message in decoder.feed(chunk): ...` yields every complete message in order; a framing error is raised
    after the messages before it were yielded. The generator is lazy, so a limit changed while handling one message
    (set_body_limit after authentication) applies to the very next frame. After an error the decoder is dead and
    raises the same error again.
    """

    def __init__(self, body_limit=PRE_AUTH_BODY_LIMIT, authenticated=False):
        self.body_limit = body_limit
        self.authenticated = authenticated
        self._buf = bytearray()
        self._checked = 0      # bytes of the current header part already checked for forbidden bytes
        self._body_len = None  # announced length of the body being read, None while reading a header
        self._error = None

    def set_body_limit(self, limit, authenticated=True):
        self.body_limit = limit
        self.authenticated = authenticated

    @property
    def pending(self):
        """True when bytes of an unfinished frame are buffered."""
        return bool(self._buf) or self._body_len is not None

    def feed(self, data):
        if self._error is not None:
            raise self._error
        self._buf += data
        while True:
            try:
                message = self._next()
            except LongreachError as err:
                self._error = err
                self._buf = bytearray()
                self._body_len = None
                raise
            if message is None:
                return
            yield message

    def _next(self):
        if self._body_len is None and not self._read_header():
            return None
        if len(self._buf) < self._body_len:
            return None
        body = bytes(self._buf[:self._body_len])
        del self._buf[:self._body_len]
        self._body_len = None
        self._checked = 0
        return _parse_body(body)

    def _read_header(self):
        buf = self._buf
        end = buf.find(_TERMINATOR, max(0, self._checked - 3))
        scan_to = len(buf) if end < 0 else end + len(_TERMINATOR)
        scan_to = min(scan_to, HEADER_LIMIT + 1)
        if scan_to > self._checked:
            bad = bytes(buf[self._checked:scan_to]).translate(None, _ALLOWED)
            if bad:
                raise LongreachError("LR_BAD_FRAME", "header contains byte 0x%02x, which is not printable ASCII "
                                     "(is the peer speaking TLS or something other than DAP?)" % bad[0])
            self._checked = scan_to
        if end < 0 or end + len(_TERMINATOR) > HEADER_LIMIT:
            if end >= 0 or len(buf) > HEADER_LIMIT:
                raise LongreachError("LR_BAD_FRAME", "frame header is longer than %d bytes" % HEADER_LIMIT)
            return False
        header = bytes(buf[:end])
        del buf[:end + len(_TERMINATOR)]
        self._checked = 0
        length = _content_length(header)
        if length > self.body_limit:
            raise LongreachError("LR_FRAME_TOO_LARGE", "frame of %d bytes exceeds the %d-byte limit%s" % (
                length, self.body_limit, "" if self.authenticated else " before authentication"))
        self._body_len = length
        return True


def _content_length(header):
    length = None
    for line in header.split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            raise LongreachError("LR_BAD_FRAME", "header lines must end with CR LF")
        name, colon, value = line.partition(b":")
        if not colon:
            raise LongreachError("LR_BAD_FRAME", "header line without a colon: %r" % (line[:64].decode("ascii"),))
        if name.strip().lower() != b"content-length":
            continue
        if length is not None:
            raise LongreachError("LR_BAD_FRAME", "Content-Length appears more than once")
        match = _LENGTH_VALUE.match(value)
        if match is None:
            raise LongreachError("LR_BAD_FRAME", "Content-Length must be 1 to 15 decimal digits, got %r" % (
                value.strip()[:32].decode("ascii"),))
        length = int(match.group(1))
    if length is None:
        raise LongreachError("LR_BAD_FRAME", "frame header has no Content-Length")
    return length


def _parse_body(body):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise LongreachError("LR_BAD_FRAME", "frame body is not valid UTF-8 (byte %d)" % err.start)
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise LongreachError("LR_BAD_MESSAGE", "frame body is not valid JSON (%s)" % _short(err))
    if not isinstance(message, dict):
        raise LongreachError("LR_BAD_MESSAGE", "frame body must be a JSON object, got %s" % type(message).__name__)
    if not isinstance(message.get("type"), str):
        raise LongreachError("LR_BAD_MESSAGE", "message has no string \"type\"")
    return message


def _short(err):
    text = str(err)
    return text if len(text) <= 120 else text[:120] + "..."


def dumps(value):
    """The JSON text of `value` as frames carry it: ASCII-escaped, compact, no NaN."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


class Encoded(dict):
    """A message body that comes with its JSON text already made, for big bodies of many small, regular objects
    (the stack of a deep recursion): the generic encoder is pure Python on PyPy, and its first run over 900 stack
    frames took ~50 ms while the JIT warmed up. It is also a dict of the same content, for in-process callers.
    Whoever makes one keeps the two in step; `text` must be ASCII (make its pieces with dumps())."""
    __slots__ = ("text",)

    def __init__(self, content, text):
        dict.__init__(self, content)
        self.text = text


def encode(message, body_limit=None):
    """One frame for `message`. ASCII-escaped JSON, so any Python str (even a lone surrogate) survives.
    A body that is an Encoded goes in as its text. Raises LongreachError(LR_FRAME_TOO_LARGE) when the body would
    exceed body_limit, ValueError/TypeError when the message is not JSON-serialisable."""
    inner = message.get("body")
    if type(inner) is Encoded:
        rest = dict(message)
        del rest["body"]
        head = dumps(rest)
        text = head[:-1] + ("," if len(head) > 2 else "") + '"body":' + inner.text + "}"
    else:
        text = dumps(message)
    body = text.encode("ascii")
    if body_limit is not None and len(body) > body_limit:
        raise LongreachError("LR_FRAME_TOO_LARGE", "message of %d bytes exceeds the %d-byte limit" % (
            len(body), body_limit))
    return b"Content-Length: " + str(len(body)).encode("ascii") + b"\r\n\r\n" + body

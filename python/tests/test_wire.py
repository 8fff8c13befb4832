import base64
import json
import os
import unittest

from longreach.wire import framing as wire
from longreach.errors import LongreachError

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec")


def load_vectors(name):
    with open(os.path.join(SPEC, "vectors", name), encoding="utf-8") as f:
        return json.load(f)


def decode_all(decoder, chunks):
    messages = []
    error = None
    try:
        for chunk in chunks:
            for message in decoder.feed(chunk):
                messages.append(message)
    except LongreachError as err:
        error = err
    return messages, error


class FramingVectors(unittest.TestCase):
    def test_header_limit_matches_spec(self):
        self.assertEqual(load_vectors("framing.json")["headerLimit"], wire.HEADER_LIMIT)

    def test_every_vector(self):
        cases = load_vectors("framing.json")["cases"]
        self.assertGreater(len(cases), 20)
        for case in cases:
            with self.subTest(case["name"]):
                decoder = wire.FrameDecoder(body_limit=case["bodyLimit"])
                chunks = [base64.b64decode(c) for c in case["chunks"]]
                messages, error = decode_all(decoder, chunks)
                self.assertEqual(messages, case["messages"])
                self.assertEqual(error.code if error else None, case["error"])
                if error is None:
                    self.assertEqual(decoder.pending, case["pending"])


class Decoder(unittest.TestCase):
    def test_error_sticks(self):
        decoder = wire.FrameDecoder()
        with self.assertRaises(LongreachError):
            list(decoder.feed(b"\x16\x03\x01"))
        with self.assertRaises(LongreachError) as ctx:
            list(decoder.feed(wire.encode({"type": "event"})))
        self.assertEqual(ctx.exception.code, "LR_BAD_FRAME")

    def test_bad_header_byte_refused_at_first_byte(self):
        decoder = wire.FrameDecoder()
        with self.assertRaises(LongreachError) as ctx:
            list(decoder.feed(b"\x00"))
        self.assertEqual(ctx.exception.code, "LR_BAD_FRAME")
        self.assertIn("0x00", ctx.exception.message)

    def test_header_too_long_refused_before_terminator(self):
        decoder = wire.FrameDecoder()
        list(decoder.feed(b"X-Pad: " + b"p" * 1000))
        with self.assertRaises(LongreachError) as ctx:
            list(decoder.feed(b"p" * 100))
        self.assertEqual(ctx.exception.code, "LR_BAD_FRAME")

    def test_header_of_exactly_1024_bytes_accepted(self):
        body = b'{"type":"event"}'
        head = b"Content-Length: 16\r\n"
        pad = b"X-Pad: "
        filler = 1024 - len(head) - len(pad) - 4
        frame = head + pad + b"p" * filler + b"\r\n\r\n" + body
        self.assertEqual(frame.index(b"\r\n\r\n") + 4, 1024)
        self.assertEqual(list(wire.FrameDecoder().feed(frame)), [{"type": "event"}])
        frame = head + pad + b"p" * (filler + 1) + b"\r\n\r\n" + body
        with self.assertRaises(LongreachError):
            list(wire.FrameDecoder().feed(frame))

    def test_2gb_refused_with_message(self):
        decoder = wire.FrameDecoder()
        with self.assertRaises(LongreachError) as ctx:
            list(decoder.feed(b"Content-Length: 2147483647\r\n\r\n"))
        self.assertEqual(ctx.exception.message,
                         "frame of 2147483647 bytes exceeds the 65536-byte limit before authentication")

    def test_limit_switch_applies_to_next_frame_in_same_chunk(self):
        big = {"type": "request", "command": "x", "arguments": {"data": "a" * 70000}}
        data = wire.encode({"type": "request", "command": "authenticate"}) + wire.encode(big)
        decoder = wire.FrameDecoder()
        got = []
        for message in decoder.feed(data):
            got.append(message)
            decoder.set_body_limit(wire.DEFAULT_BODY_LIMIT)
        self.assertEqual(got[1], big)
        self.assertFalse(decoder.pending)

    def test_deep_nesting_is_bad_message_not_crash(self):
        body = b"[" * 60000
        frame = b"Content-Length: %d\r\n\r\n" % len(body) + body
        with self.assertRaises(LongreachError) as ctx:
            list(wire.FrameDecoder().feed(frame))
        self.assertEqual(ctx.exception.code, "LR_BAD_MESSAGE")
        body = b'{"type":"x","a":' + b"[" * 60000
        frame = b"Content-Length: %d\r\n\r\n" % len(body) + body
        with self.assertRaises(LongreachError) as ctx:
            list(wire.FrameDecoder().feed(frame))
        self.assertEqual(ctx.exception.code, "LR_BAD_MESSAGE")

    def test_lone_lf_in_header_is_bad_frame(self):
        with self.assertRaises(LongreachError) as ctx:
            list(wire.FrameDecoder().feed(b"Content-Length: 2\nX: y\r\n\r\n{}"))
        self.assertEqual(ctx.exception.code, "LR_BAD_FRAME")


class Encoder(unittest.TestCase):
    def test_round_trip_unicode_and_surrogates(self):
        message = {"type": "event", "body": {"output": "h\u00e9llo \u2713 \U0001f389 \udcff"}}
        frame = wire.encode(message)
        self.assertTrue(frame.startswith(b"Content-Length: "))
        self.assertEqual(list(wire.FrameDecoder().feed(frame)), [message])

    def test_length_counts_bytes(self):
        frame = wire.encode({"type": "e", "s": "\u00e9"})
        head, _, body = frame.partition(b"\r\n\r\n")
        self.assertEqual(int(head.split(b":")[1]), len(body))

    def test_encode_limit(self):
        with self.assertRaises(LongreachError) as ctx:
            wire.encode({"type": "event", "body": "a" * 100}, body_limit=50)
        self.assertEqual(ctx.exception.code, "LR_FRAME_TOO_LARGE")


if __name__ == "__main__":
    unittest.main()

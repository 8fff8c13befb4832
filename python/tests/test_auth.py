import base64
import json
import os
import unittest

from longreach.wire import auth
from longreach.errors import LongreachError
from longreach.wire.throttle import Throttle

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec")


def vectors():
    with open(os.path.join(SPEC, "vectors", "auth.json"), encoding="utf-8") as f:
        return json.load(f)["cases"]


class Proofs(unittest.TestCase):
    def test_vectors(self):
        cases = vectors()
        self.assertGreaterEqual(len(cases), 4)
        for case in cases:
            with self.subTest(secret_len=len(case["secret"])):
                sn = base64.b64decode(case["serverNonce"])
                cn = auth.decode_client_nonce(case["clientNonce"])
                self.assertEqual(auth.client_proof(case["secret"], sn, cn), case["proof"])
                self.assertEqual(auth.server_proof(case["secret"], sn, cn), case["serverProof"])
                self.assertTrue(auth.check_proof(case["secret"], sn, cn, case["proof"]))
                self.assertFalse(auth.check_proof(case["secret"] + "x", sn, cn, case["proof"]))
                self.assertFalse(auth.check_proof(case["secret"], sn, cn, case["serverProof"]))

    def test_malformed_proofs_fail(self):
        case = vectors()[0]
        sn = base64.b64decode(case["serverNonce"])
        cn = base64.b64decode(case["clientNonce"])
        for bad in (None, 5, "", case["proof"].upper(), case["proof"][:-1], case["proof"] + "0",
                    "\u00e9" * 64, ["x"]):
            self.assertFalse(auth.check_proof(case["secret"], sn, cn, bad))

    def test_proof_for_another_nonce_fails(self):
        case = vectors()[0]
        cn = base64.b64decode(case["clientNonce"])
        proof = auth.client_proof(case["secret"], auth.new_nonce(), cn)
        self.assertFalse(auth.check_proof(case["secret"], auth.new_nonce(), cn, proof))

    def test_nonces_are_fresh_32_bytes(self):
        a, b = auth.new_nonce(), auth.new_nonce()
        self.assertEqual((len(a), len(b)), (32, 32))
        self.assertNotEqual(a, b)
        self.assertEqual(base64.b64decode(auth.b64(a)), a)

    def test_client_nonce_validation(self):
        for bad in (None, 12, "not base64!!", auth.b64(b"x" * 15), auth.b64(b"x" * 65), "\u00e9\u00e9\u00e9\u00e9"):
            with self.assertRaises(LongreachError) as ctx:
                auth.decode_client_nonce(bad)
            self.assertEqual(ctx.exception.code, "LR_BAD_REQUEST")
        self.assertEqual(len(auth.decode_client_nonce(auth.b64(b"y" * 16))), 16)
        self.assertEqual(len(auth.decode_client_nonce(auth.b64(b"y" * 64))), 64)

    def test_secrets_equal(self):
        self.assertTrue(auth.secrets_equal("p\u00e4ss", "p\u00e4ss"))
        self.assertFalse(auth.secrets_equal("p\u00e4ss", "pass"))
        self.assertFalse(auth.secrets_equal("s", None))
        self.assertFalse(auth.secrets_equal("s", "\udcff"))


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Throttling(unittest.TestCase):
    def test_growing_windows(self):
        clock = FakeClock()
        t = Throttle(base=0.25, cap=30.0, clock=clock)
        self.assertEqual(t.retry_in("10.0.0.7"), 0.0)
        windows = [t.failure("10.0.0.7") for _ in range(10)]
        self.assertEqual(windows, [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0])
        self.assertEqual(t.retry_in("10.0.0.7"), 30.0)
        self.assertEqual(t.retry_in("10.0.0.8"), 0.0)
        clock.now += 29.5
        self.assertAlmostEqual(t.retry_in("10.0.0.7"), 0.5)
        clock.now += 0.5
        self.assertEqual(t.retry_in("10.0.0.7"), 0.0)
        self.assertEqual(t.failure("10.0.0.7"), 30.0)  # the count is still consecutive

    def test_success_resets(self):
        clock = FakeClock()
        t = Throttle(clock=clock)
        t.failure("a")
        t.failure("a")
        t.success("a")
        self.assertEqual(t.retry_in("a"), 0.0)
        self.assertEqual(t.failure("a"), 0.25)

    def test_ten_minutes_without_failure_resets(self):
        clock = FakeClock()
        t = Throttle(clock=clock)
        for _ in range(5):
            t.failure("a")
        clock.now += 600
        self.assertEqual(t.retry_in("a"), 0.0)
        self.assertEqual(t.failure("a"), 0.25)

    def test_memory_bounded(self):
        clock = FakeClock()
        t = Throttle(clock=clock)
        for i in range(10000):
            t.failure("10.%d.%d.1" % (i // 256, i % 256))
        self.assertLessEqual(len(t._failures), 4097)
        self.assertGreater(t.retry_in("10.39.15.1"), 0.0)  # the newest survive

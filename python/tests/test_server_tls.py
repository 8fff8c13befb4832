"""The server over real TLS with a certificate made by openssl for the test."""

import socket
import ssl
import unittest
import warnings

from longreach.errors import LongreachError
from longreach.wire.server import tls_context
from longreach.wire.throttle import Throttle

from .support import Certificate, Client, FakeSession, WithCertificate, error_code
from .test_server import SECRET, ServerTestCase


class TlsServer(WithCertificate, ServerTestCase):
    def setUp(self):
        self.server_options = {"tls": tls_context(self.cert.certfile, self.cert.keyfile)}
        ServerTestCase.setUp(self)

    def test_authenticate_over_tls(self):
        client = self.connect(tls=self.cert.client_context())
        self.assertTrue(client.sock.version() in ("TLSv1.2", "TLSv1.3"))
        reply = client.authenticate(SECRET)
        self.assertTrue(reply["success"])
        self.assertEqual(reply["body"]["serverProof"], reply["_expected_server_proof"])
        self.assertTrue(client.request("attach", {})["success"])
        client.event("initialized")
        self.assertTrue(FakeSession.instances[0].options["is_tls"])
        data = "z" * 300000  # many TLS records both ways
        self.assertEqual(client.request("echo", {"d": data})["body"]["arguments"]["d"], data)

    def test_secret_in_attach_accepted_over_tls(self):
        client = self.connect(tls=self.cert.client_context())
        client.initialize()
        self.assertTrue(client.request("attach", {"secret": SECRET})["success"])
        self.assertEqual(FakeSession.instances[0].calls[0], ("attach", {}))

    def test_wrong_secret_in_attach_over_tls(self):
        client = self.connect(tls=self.cert.client_context())
        client.initialize()
        self.assertEqual(error_code(client.request("attach", {"secret": "bad"})), "LR_AUTH_FAILED")
        self.assertEqual(client.expect_closed(), [])

    def test_plain_client_to_tls_server_is_closed(self):
        client = self.connect()
        client.send_raw(b'Content-Length: 20\r\n\r\n{"type":"request"}  ')
        self.assertEqual(client.expect_closed(), [])
        self.assertTrue(self.connect(tls=self.cert.client_context()).authenticate(SECRET)["success"])

    def test_tls_1_1_refused(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.cert.certfile)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # this client would speak TLS 1.1 if the server let it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.maximum_version = ssl.TLSVersion.TLSv1_1
            context.minimum_version = ssl.TLSVersion.TLSv1
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(raw.close)
        with self.assertRaises(ssl.SSLError) as ctx:
            context.wrap_socket(raw, server_hostname="localhost")
        self.assertIn("VERSION", str(ctx.exception).upper())

    def test_framing_error_over_tls(self):
        client = self.connect(tls=self.cert.client_context())
        client.send_raw(b"Content-Length: 99999999\r\n\r\n")
        messages = client.expect_closed()
        self.assertEqual([m["body"]["code"] for m in messages], ["LR_FRAME_TOO_LARGE"])

    def test_silent_client_times_out_in_handshake(self):
        self.server.close()
        self.server = self.make_server(session_factory=FakeSession, throttle=Throttle(),
                                       tls=tls_context(self.cert.certfile, self.cert.keyfile), auth_timeout=0.3)
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.addCleanup(raw.close)
        self.assertEqual(raw.recv(100), b"")


class TlsContextErrors(WithCertificate, unittest.TestCase):
    def code(self, *args):
        with self.assertRaises(LongreachError) as ctx:
            tls_context(*args)
        return ctx.exception

    def test_certfile_without_keyfile(self):
        err = self.code(self.cert.certfile, None)
        self.assertEqual(err.code, "LR_CERT")
        self.assertIn("keyfile", err.message)

    def test_missing_file(self):
        err = self.code(self.cert.certfile, self.cert.keyfile + ".missing")
        self.assertEqual(err.code, "LR_CERT")
        self.assertIn("not a readable file", err.message)

    def test_swapped_files(self):
        self.assertEqual(self.code(self.cert.keyfile, self.cert.certfile).code, "LR_CERT")

    def test_mismatched_key(self):
        other = Certificate()
        self.addCleanup(other.cleanup)
        self.assertEqual(self.code(self.cert.certfile, other.keyfile).code, "LR_CERT")

    def test_minimum_version(self):
        self.assertEqual(tls_context(self.cert.certfile, self.cert.keyfile).minimum_version,
                         ssl.TLSVersion.TLSv1_2)

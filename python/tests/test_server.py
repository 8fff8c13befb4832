"""The server over real sockets on 127.0.0.1: the gate, authentication, framing errors, the one-session rule."""

import base64
import os
import socket
import threading
import time
import unittest

from longreach.wire import auth
from longreach._threads import AGENT_THREAD_IDS
from longreach.wire.server import Server
from longreach.wire.throttle import Throttle

from .support import Client, FakeSession, error_code, wait_until

SECRET = "s3cret-\u00e4"


class ServerTestCase(unittest.TestCase):
    secret = SECRET
    server_options = {}

    def setUp(self):
        FakeSession.instances = []
        options = dict(session_factory=FakeSession, capabilities=FakeSession.CAPABILITIES,
                       throttle=Throttle(base=0.05))
        options.update(self.server_options)
        self.server = self.make_server(**options)
        self.clients = []

    def make_server(self, **options):
        server = Server(self.secret, "127.0.0.1", 0, **options)
        host, self.port = server.listen()
        server.start()
        self.addCleanup(server.close)
        return server

    def connect(self, **kw):
        client = Client(self.port, **kw)
        self.addCleanup(client.close)
        return client

    def attached_client(self):
        client = self.connect()
        self.assertTrue(client.authenticate(self.secret)["success"])
        response = client.request("attach", {})
        self.assertTrue(response["success"], response)
        client.event("initialized")
        return client


class HappyPath(ServerTestCase):
    def test_initialize_advertises_protocol_and_fresh_nonce(self):
        with self.connect() as c1, self.connect() as c2:
            r1 = c1.initialize(longreachProtocol=1)
            r2 = c2.initialize()
        for r in (r1, r2):
            self.assertTrue(r["success"])
            self.assertTrue(r["body"]["supportsFakeThings"])
            lr = r["body"]["longreach"]
            self.assertEqual((lr["protocol"], lr["auth"], lr["agent"]), (1, "hmac-sha256", "longreach-python 0.1.0"))
            self.assertEqual(len(base64.b64decode(lr["nonce"])), 32)
        self.assertNotEqual(r1["body"]["longreach"]["nonce"], r2["body"]["longreach"]["nonce"])

    def test_authenticate_is_mutual(self):
        client = self.connect()
        reply = client.authenticate(SECRET)
        self.assertTrue(reply["success"], reply)
        self.assertEqual(reply["body"]["serverProof"], reply["_expected_server_proof"])

    def test_full_session(self):
        client = self.attached_client()
        session = FakeSession.instances[0]
        self.assertEqual(session.peer, "127.0.0.1:%d" % client.sock.getsockname()[1])
        self.assertEqual(session.options["is_tls"], False)
        self.assertEqual(session.options["redirect_output"], True)
        self.assertFalse(self.server.wait_configured(0))
        self.assertTrue(client.request("configurationDone")["success"])
        self.assertTrue(self.server.wait_configured(2))
        self.assertIs(self.server.current_session(), session)
        self.assertEqual(client.request("echo", {"a": 1})["body"], {"arguments": {"a": 1}})
        self.assertTrue(client.request("disconnect")["success"])
        self.assertEqual(client.expect_closed(), [])
        self.assertEqual(session.closed, 1)
        self.assertIsNone(self.server.current_session())
        self.assertFalse(self.server.wait_configured(0))
        wait_until(lambda: not self.server._connections, what="connection cleanup")
        self.assertEqual(session.closed, 1)

    def test_configuration_done_answered_before_program_resumes(self):
        client = self.attached_client()
        session = FakeSession.instances[0]

        def program():
            self.server.wait_configured(10)
            session.send({"type": "event", "event": "marker"})

        thread = threading.Thread(target=program)
        thread.start()
        self.addCleanup(thread.join, 10)
        client.send({"seq": 99, "type": "request", "command": "configurationDone"})
        first = client.read()
        self.assertEqual((first["type"], first.get("request_seq"), first["success"]), ("response", 99, True))
        self.assertEqual(client.read()["event"], "marker")

    def test_attach_arguments_reach_session_without_secret(self):
        client = self.connect()
        client.authenticate(SECRET)
        client.request("attach", {"secret": "whatever", "pathMappings": []})
        self.assertEqual(FakeSession.instances[0].calls[0], ("attach", {"pathMappings": []}))

    def test_process_info_on_listing_connection(self):
        attached = self.attached_client()
        lister = self.connect()
        lister.authenticate(SECRET)
        info = lister.request("longreach/processInfo")
        self.assertTrue(info["success"])
        self.assertEqual(info["body"]["pid"], os.getpid())
        self.assertEqual(info["body"]["attached"]["address"], "127.0.0.1:%d" % attached.sock.getsockname()[1])
        self.assertRegex(info["body"]["attached"]["since"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(lister.request("disconnect")["success"])
        lister.expect_closed()
        self.assertEqual(FakeSession.instances[0].closed, 0)  # listing never disturbs the debugger
        self.assertTrue(attached.request("echo")["success"])

    def test_agent_threads_registered_and_hidden(self):
        client = self.connect()
        hello = client.initialize()
        (conn,) = list(self.server._connections)
        self.assertIsNone(conn.thread)  # before authenticating it waits at the gate, on the gate's one thread
        gate = self.server._gate._thread
        self.assertIn(gate.ident, AGENT_THREAD_IDS)
        self.assertFalse(any(t.ident == gate.ident for t in threading.enumerate()))
        self.assertTrue(client.authenticate(SECRET, hello)["success"])
        wait_until(lambda: conn.thread is not None, what="the gate to hand the connection a thread of its own")
        reader = conn.thread.ident
        self.assertIn(reader, AGENT_THREAD_IDS)
        self.assertIn(self.server._thread.ident, AGENT_THREAD_IDS)
        self.assertTrue(conn.thread.daemon and self.server._thread.daemon)
        self.assertFalse(any(t.ident in (reader, self.server._thread.ident) for t in threading.enumerate()))
        client.request("disconnect")
        client.expect_closed()
        wait_until(lambda: reader not in AGENT_THREAD_IDS, what="the reader thread to end and unregister")
        self.assertFalse(conn.thread.is_alive())

    def test_handler_fault_is_internal_error_and_session_survives(self):
        client = self.attached_client()
        response = client.request("boom")
        self.assertEqual(error_code(response), "LR_INTERNAL")
        self.assertNotIn("a bug in a handler", response["body"]["error"]["format"])
        self.assertTrue(client.request("echo")["success"])

    def test_oversized_response_becomes_error(self):
        self.server.body_limit = 1 << 20
        client = self.attached_client()
        self.assertTrue(client.request("big", {"size": 1000})["success"])
        self.assertEqual(error_code(client.request("big", {"size": 2 << 20})), "LR_INTERNAL")
        self.assertTrue(client.request("echo")["success"])

    def test_large_frames_allowed_after_authentication(self):
        client = self.attached_client()
        data = "y" * 200000
        self.assertEqual(client.request("echo", {"data": data})["body"]["arguments"]["data"], data)

    def test_terminate_debuggee(self):
        client = self.attached_client()
        self.assertTrue(client.request("disconnect", {"terminateDebuggee": True})["success"])
        client.expect_closed()
        session = FakeSession.instances[0]
        self.assertIn(("terminate", {}), session.calls)
        wait_until(lambda: session.closed == 1, what="session close")

    def test_connection_loss_closes_session(self):
        client = self.attached_client()
        client.close()
        session = FakeSession.instances[0]
        self.assertTrue(session.closed_event.wait(5))
        self.assertEqual(session.closed, 1)
        self.attached_client()  # the slot is free again

    def test_failed_attach_frees_the_slot(self):
        client = self.connect()
        client.authenticate(SECRET)
        self.assertEqual(error_code(client.request("attach", {"fail": True})), "LR_BAD_REQUEST")
        self.assertEqual(FakeSession.instances[0].closed, 1)
        self.assertIsNone(self.server.attached_info())
        self.assertTrue(client.request("attach", {})["success"])

    def test_server_close_detaches_and_closes_connections(self):
        client = self.attached_client()
        self.server.close()
        client.expect_closed()
        self.assertEqual(FakeSession.instances[0].closed, 1)
        with self.assertRaises(OSError):
            Client(self.port, timeout=1).initialize()

    def test_non_requests_ignored_and_bad_requests_answered(self):
        client = self.connect()
        client.initialize()
        client.send({"seq": 50, "type": "event", "event": "x"})
        client.send({"seq": 51, "type": "request"})
        response = client.read()
        self.assertEqual((response["request_seq"], error_code(response)), (51, "LR_BAD_REQUEST"))
        client.send({"seq": 52, "type": "request", "command": "authenticate", "arguments": [1]})
        self.assertEqual(error_code(client.read()), "LR_BAD_REQUEST")


class Gate(ServerTestCase):
    def test_requests_before_authentication(self):
        client = self.connect()
        for command in ("threads", "longreach/processInfo", "configurationDone", "evaluate"):
            response = client.request(command, {})
            self.assertEqual(error_code(response), "LR_AUTH_REQUIRED")
            self.assertEqual(response["body"]["error"]["format"],
                             "authentication required: send authenticate after initialize")
        self.assertEqual(error_code(client.request("authenticate", {})), "LR_BAD_REQUEST")
        client.initialize()
        self.assertEqual(error_code(client.request("threads")), "LR_AUTH_REQUIRED")
        self.assertEqual(error_code(client.request("attach", {})), "LR_SECRET_REQUIRED")
        self.assertEqual(error_code(client.request("longreach/processInfo")), "LR_AUTH_REQUIRED")
        self.assertEqual(FakeSession.instances, [])

    def test_initialize_twice(self):
        client = self.connect()
        client.initialize()
        self.assertEqual(error_code(client.initialize()), "LR_BAD_REQUEST")

    def test_disconnect_before_authentication(self):
        client = self.connect()
        self.assertTrue(client.request("disconnect")["success"])
        self.assertEqual(client.expect_closed(), [])

    def test_wrong_secret(self):
        client = self.connect()
        reply = client.authenticate("not the secret")
        self.assertEqual(error_code(reply), "LR_AUTH_FAILED")
        text = reply["body"]["error"]["format"]
        self.assertEqual(text, "secret did not match (check the part before @ in the qualifier)")
        self.assertEqual(client.expect_closed(), [])

    def test_malformed_proof_and_nonce(self):
        client = self.connect()
        client.initialize()
        reply = client.request("authenticate", {"clientNonce": auth.b64(os.urandom(32)), "proof": "zz"})
        self.assertEqual(error_code(reply), "LR_AUTH_FAILED")
        client = self.connect()
        time.sleep(0.1)
        client.initialize()
        reply = client.request("authenticate", {"clientNonce": "short", "proof": "0" * 64})
        self.assertEqual(error_code(reply), "LR_BAD_REQUEST")
        client.expect_closed()

    def test_replayed_proof_fails(self):
        first = self.connect()
        reply = first.authenticate(SECRET)
        self.assertTrue(reply["success"])
        again = first.request("authenticate", {"clientNonce": auth.b64(reply["_client_nonce"]),
                                               "proof": reply["_proof"]})
        self.assertEqual(error_code(again), "LR_BAD_REQUEST")
        second = self.connect()
        second.initialize()
        replay = second.request("authenticate", {"clientNonce": auth.b64(reply["_client_nonce"]),
                                                 "proof": reply["_proof"]})
        self.assertEqual(error_code(replay), "LR_AUTH_FAILED")
        second.expect_closed()

    def test_wrong_protocol_version(self):
        client = self.connect()
        response = client.initialize(longreachProtocol=2)
        self.assertEqual(error_code(response), "LR_VERSION_MISMATCH")
        self.assertEqual(response["body"]["error"]["format"],
                         "client speaks Longreach protocol 2, this agent speaks protocol 1; upgrade the older side")
        self.assertEqual(client.expect_closed(), [])

    def test_second_attach_while_attached(self):
        first = self.attached_client()
        second = self.connect()
        second.authenticate(SECRET)
        response = second.request("attach", {})
        self.assertEqual(error_code(response), "LR_ALREADY_ATTACHED")
        self.assertRegex(response["body"]["error"]["format"],
                         r"^already attached by 127\.0\.0\.1:%d since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
                         % first.sock.getsockname()[1])
        self.assertEqual(error_code(first.request("attach", {})), "LR_BAD_REQUEST")
        first.request("disconnect")
        first.expect_closed()
        self.assertTrue(second.request("attach", {})["success"])

    def test_next_session_waits_for_the_last_one_to_finish_detaching(self):
        # a new session must not start while the last one still tears its tracer down: that removed the new
        # session's trace functions, and its breakpoints never stopped (found by npm run bench:soak)
        FakeSession.hold_close = threading.Event()
        self.addCleanup(setattr, FakeSession, "hold_close", None)
        self.addCleanup(FakeSession.hold_close.set)
        first = self.attached_client()
        self.assertTrue(first.request("disconnect")["success"])
        wait_until(lambda: self.server._attached is None, what="the first session to start detaching")
        second = self.connect()
        second.authenticate(SECRET)
        second.send({"seq": 50, "type": "request", "command": "attach", "arguments": {}})
        time.sleep(0.3)
        self.assertEqual(len(FakeSession.instances), 1, "a session was made while the last one was closing")
        FakeSession.hold_close.set()
        reply = second.expect(lambda m: m.get("request_seq") == 50)
        self.assertTrue(reply["success"], reply)
        self.assertEqual(FakeSession.instances[0].closed, 1)
        self.assertEqual(len(FakeSession.instances), 2)

    def test_secret_in_attach_refused_over_plain_tcp(self):
        client = self.connect()
        client.initialize()
        response = client.request("attach", {"secret": SECRET})
        self.assertEqual(error_code(response), "LR_INSECURE_SECRET")
        self.assertNotIn(SECRET, str(response))
        client.expect_closed()
        self.assertEqual(FakeSession.instances, [])

    def test_requests_after_listing_connection_need_attach(self):
        client = self.connect()
        client.authenticate(SECRET)
        self.assertEqual(error_code(client.request("threads")), "LR_BAD_REQUEST")


class PlainSecretAllowed(ServerTestCase):
    server_options = {"allow_plain_secret": True}

    def test_secret_in_attach(self):
        client = self.connect()
        client.initialize()
        self.assertTrue(client.request("attach", {"secret": SECRET})["success"])
        client.event("initialized")
        self.assertTrue(client.request("longreach/processInfo")["success"])
        self.assertEqual(error_code(client.request("authenticate", {})), "LR_BAD_REQUEST")  # nonce consumed

    def test_wrong_secret_in_attach(self):
        client = self.connect()
        client.initialize()
        reply = client.request("attach", {"secret": "nope"})
        self.assertEqual(error_code(reply), "LR_AUTH_FAILED")
        # the secret came in the attach arguments, not in a qualifier: say so
        self.assertEqual(reply["body"]["error"]["format"], "secret did not match (check the \"secret\" attach argument)")
        client.expect_closed()


class Throttling(ServerTestCase):
    server_options = {"throttle": Throttle(base=0.5)}

    def attempt(self, secret):
        client = self.connect()
        reply = client.authenticate(secret)
        if not reply["success"]:
            client.expect_closed()
        return reply

    def test_growing_penalty(self):
        self.assertEqual(error_code(self.attempt("wrong")), "LR_AUTH_FAILED")  # refused for 0.5 s now
        throttled = self.attempt(SECRET)  # even the right secret is refused during the window
        self.assertEqual(error_code(throttled), "LR_THROTTLED")
        self.assertRegex(throttled["body"]["error"]["format"],
                         r"^too many failed attempts from 127\.0\.0\.1; retry in \d+\.\d s$")
        # machine-readable, so a client can wait out a short throttle by itself (protocol section 4.5)
        self.assertTrue(0 < throttled["body"]["error"]["retryAfterMs"] <= 500, throttled)
        time.sleep(0.6)
        self.assertEqual(error_code(self.attempt("wrong")), "LR_AUTH_FAILED")  # second failure: 1.0 s
        self.assertEqual(error_code(self.attempt(SECRET)), "LR_THROTTLED")
        time.sleep(1.1)
        self.assertTrue(self.attempt(SECRET)["success"])
        self.assertTrue(self.attempt(SECRET)["success"])  # success reset the count


class NoSecret(ServerTestCase):
    secret = None

    def test_anyone_may_attach(self):
        client = self.connect()
        lr = client.initialize()["body"]["longreach"]
        self.assertEqual(lr["auth"], "none")
        self.assertNotIn("nonce", lr)
        reply = client.request("authenticate", {})
        self.assertTrue(reply["success"])
        self.assertNotIn("serverProof", reply.get("body") or {})
        self.assertTrue(client.request("longreach/processInfo")["success"])
        self.assertTrue(client.request("attach", {})["success"])
        client.event("initialized")


class FramingErrors(ServerTestCase):
    def error_event(self, data, client=None):
        client = client or self.connect()
        client.send_raw(data)
        messages = client.expect_closed()
        self.assertEqual(len(messages), 1, messages)
        event = messages[0]
        self.assertEqual((event["type"], event["event"]), ("event", "longreach/error"))
        return event["body"]

    def test_garbage(self):
        self.assertEqual(self.error_event(b"\x00\xff\x00\xffABCD")["code"], "LR_BAD_FRAME")

    def test_tls_client_hello_to_plain_server(self):
        body = self.error_event(b"\x16\x03\x01\x00\xf2\x01\x00\x00\xee\x03\x03" + os.urandom(200))
        self.assertEqual(body["code"], "LR_BAD_FRAME")

    def test_2gb_content_length(self):
        body = self.error_event(b"Content-Length: 2147483648\r\n\r\n")
        self.assertEqual(body, {"code": "LR_FRAME_TOO_LARGE",
                                "message": "frame of 2147483648 bytes exceeds the 65536-byte limit before "
                                           "authentication"})

    def test_64k_limit_before_authentication(self):
        client = self.connect()
        client.initialize()
        big = b'{"type":"request","seq":9,"command":"x","p":"' + b"a" * 70000 + b'"}'
        body = self.error_event(b"Content-Length: %d\r\n\r\n" % len(big) + big, client)
        self.assertEqual(body["code"], "LR_FRAME_TOO_LARGE")

    def test_invalid_json(self):
        self.assertEqual(self.error_event(b"Content-Length: 5\r\n\r\n{nope")["code"], "LR_BAD_MESSAGE")

    def test_not_utf8(self):
        self.assertEqual(self.error_event(b"Content-Length: 4\r\n\r\n\"\xff\" ")["code"], "LR_BAD_FRAME")

    def test_framing_error_after_attach_detaches(self):
        client = self.attached_client()
        self.error_event(b"Content-Length: x\r\n\r\n", client)
        self.assertTrue(FakeSession.instances[0].closed_event.wait(5))

    def test_truncated_frame_then_disconnect(self):
        client = self.connect()
        client.send_raw(b"Content-Length: 100\r\n\r\n{\"type\":")
        client.close()
        wait_until(lambda: not self.server._connections, what="server to drop the connection")
        self.assertTrue(self.connect().authenticate(SECRET)["success"])

    def test_auth_deadline(self):
        self.server.close()
        self.server = self.make_server(session_factory=FakeSession, auth_timeout=0.3)
        client = self.connect()
        messages = client.expect_closed()
        self.assertEqual([m["body"]["code"] for m in messages], ["LR_TIMEOUT"])

    def test_idle_connection_does_not_block_others(self):
        idle = socket.create_connection(("127.0.0.1", self.port))
        self.addCleanup(idle.close)
        self.assertTrue(self.connect().authenticate(SECRET)["success"])


if __name__ == "__main__":
    unittest.main()

"""The wire: bytes in and out, and who may speak (no debugging here).

framing     Content-Length frames, bounded sizes, JSON encoding (Encoded: pre-rendered bodies)
auth        the HMAC challenge-response and constant-time secret comparison
throttle    failed-authentication back-off per peer
connection  one socket: reader, writer, request/response bookkeeping
server      listener, authentication gate, one-session rule, server-level requests (list, processInfo);
            the debugging session is handed in by the API as a factory
dial        reverse connect: dial a hub (longreach listen), the hub proves the secret first; Server.adopt serves it

May import: longreach.errors, longreach.log, longreach.processinfo, longreach._threads, the standard library.
Never imports longreach.session or longreach.tracer.
"""

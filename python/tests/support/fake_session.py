"""A fake `longreach.session` module for API tests in child processes (installed via sys.modules)."""

from . import FakeSession as DebugSession  # noqa: F401

CAPABILITIES = {"supportsConfigurationDoneRequest": True, "supportsFakeThings": True}

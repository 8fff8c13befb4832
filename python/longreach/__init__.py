"""Longreach: a secure in-process remote debugger (ptvsd 3 style API)."""

from .processinfo import AGENT_VERSION as __version__

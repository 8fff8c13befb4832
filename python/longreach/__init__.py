"""Longreach: a secure in-process remote debugger (ptvsd 3 style API)."""

__version__ = "0.1.0"

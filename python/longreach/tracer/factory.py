"""Chooses the tracing mechanism for this interpreter. The implementations never import this module back."""

import sys

__all__ = ["mechanism", "make_tracer"]


def mechanism():
    """The tracer class for this interpreter (importing it is part of what the first attach would wait for)."""
    if sys.implementation.name == "cpython" and sys.version_info >= (3, 12):
        from longreach.tracer.monitoring import MonitoringTracer
        return MonitoringTracer
    from longreach.tracer.settrace import SettraceTracer
    return SettraceTracer


def make_tracer(policy, compile_lines=False):
    """compile_lines: line breakpoints compiled into copies of their functions where possible (compiled.py)."""
    return mechanism()(policy, compile_lines)

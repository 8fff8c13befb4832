"""Tests that need numpy, pandas and torch (Debian python3-* packages): run on /usr/bin/python3."""

"""Canonical delivery events and the connectors that produce them."""

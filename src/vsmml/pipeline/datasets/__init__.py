"""Readers for public development datasets into vsmml's canonical frames (does file I/O)."""

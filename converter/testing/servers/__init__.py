"""Loopback HTTP servers the tests talk to: a range-capable file server and a small Hub.

`fixtures.py` holds the pytest fixtures (`file_server`, `hub`, `hf_token`); importing it starts
the session Hub and points `HF_ENDPOINT` at it (see `session.py`).
"""

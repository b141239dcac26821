"""Loopback HTTP servers the tests talk to: a range-capable file server and a small Hub.

The pytest fixtures (`file_server`, `hub`, `hf_token`) are in `tests/server_fixtures.py`;
importing it starts the session Hub and points `HF_ENDPOINT` at it (see `session.py`).
"""

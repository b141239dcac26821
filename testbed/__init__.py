"""Test and benchmark infrastructure: loopback servers standing in for the Hub and a file host.

Used by `tests/` and `bench/` only; the product never imports it.
"""

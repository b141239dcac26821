"""Test and benchmark equipment: loopback servers standing in for the Hub and a file host, and the
benchmark workload. Imported from the checkout by `tests/` and `bench/`; not part of the package.
"""

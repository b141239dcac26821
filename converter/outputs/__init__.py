"""What the project writes: examples, the `datasets` builder and schema, the public tool's folder,
Parquet exports with their card, and the push to the Hub.

Imports `core`, `read`, `pose` and `sample`.
"""

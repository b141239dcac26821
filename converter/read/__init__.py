"""Reading the release: any location, its archive members, the safe annotation loader, records, meshes.

`open_source` is the entry point; everything else serves it. Imports only `converter.core`.
"""

"""The Qt-free core of photoorg: catalog, scanning, decoding, embedding, search, clusters.

Nothing in this package may import Qt (a test enforces it), so the CLI, the tests and the
GUI all drive the same code.
"""

"""From disk into the catalog: scanner, watcher, the pipeline and its stages, the
indexer, relocation of offline folders, the OCR stage.
"""

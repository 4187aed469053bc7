"""What other tools wrote, and what photoorg writes back: reading (all dialects), the
XMP reader, the import stage, XMP sidecars.
"""

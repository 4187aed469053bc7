"""Files as pictures, below everything else: decoding, per-OS path rules, the thumbnail
cache layout, face boxes, and the sample pictures of the first run.
"""

"""Finding photos: CLIP search and near-duplicate groups, the words index, library
search, relevance feedback, duplicate review, and the browse queries of the window.
"""

"""Groups the user sees and decides on: clusters (people, pets, places, scenes), tags,
albums, places, events, suggested names, hand organising, exchange of decisions.
"""

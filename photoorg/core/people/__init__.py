"""Faces: proposals, detection, the descriptor network, and clustering faces into people.
"""

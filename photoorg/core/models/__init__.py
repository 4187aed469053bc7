"""The models: CLIP embedder and towers, competence checks, and the model policy
(which model answers, which one is being embedded).
"""

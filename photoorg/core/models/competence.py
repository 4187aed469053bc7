"""Whether a model has earned the right to name what it sees (Qt-free).

Zero-shot pets ask the model "is this a cat?". A random model, or one trained on something
else (the bundled shapes model), answers anyway, and a softmax at CLIP's temperature makes
any answer look confident: test shapes became "cat" groups. So before pets are grouped the
model must show it knows the animals at all, on its text side alone (cheap, no images):
each paraphrase ("a picture of a kitten") must land nearest its own animal's prompt
("a photo of a cat") among all the animal prompts. A real CLIP gets these right; random and
shape-only models get about one in eight (measured: tiny 1/8, ViT-B-32 random 0/8,
ViT-B-16 random 0/8, ViT-B-32-256 random 1/8).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

PARAPHRASES: dict[str, str] = {  # no word shared with the animal's own prompt
    "dog": "a picture of a puppy",
    "cat": "a picture of a kitten",
    "bird": "a picture of a parrot",
    "horse": "a picture of a pony",
    "rabbit": "a picture of a bunny",
    "fish": "a picture of a goldfish",
    "turtle": "a picture of a tortoise",
    "lizard": "a picture of a gecko",
}
REQUIRED = 6  # of 8: what a model must get right before its pet groups are shown


def animal_score(encode_texts: Callable[[Sequence[str]], np.ndarray],
                 prompts: dict[str, str]) -> int:
    """How many paraphrases land on their own animal (``prompts``: animal -> prompt)."""
    animals = list(prompts)
    names = [a for a in PARAPHRASES if a in prompts]
    if not names:
        return 0
    base = np.asarray(encode_texts([prompts[a] for a in animals]), dtype=np.float32)
    para = np.asarray(encode_texts([PARAPHRASES[a] for a in names]), dtype=np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True) + 1e-12
    para /= np.linalg.norm(para, axis=1, keepdims=True) + 1e-12
    best = (para @ base.T).argmax(axis=1)
    return sum(animals[int(b)] == a for b, a in zip(best, names, strict=True))


def knows_animals(encode_texts: Callable[[Sequence[str]], np.ndarray],
                  prompts: dict[str, str]) -> bool:
    return animal_score(encode_texts, prompts) >= REQUIRED

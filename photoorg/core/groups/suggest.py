"""Suggested names for unnamed pet, scene and place groups: CLIP zero-shot over a vocabulary,
behind a gate that a model which does not know the words cannot pass.

The suggestion: the vocabulary label whose prompt ("a photo of a beach") is most similar to
the group's centroid (mean of its members' vectors), with its *confidence*: the softmax over
the vocabulary at CLIP's temperature (100), i.e. how sure the model is among these labels.

The gate (derived, not tuned): a model that does not know what "beach" means -- random
weights, or the bundled tiny model, which learned only colours and shapes -- embeds
"a photo of a beach" no differently from "a photo of a hbcea": the label is then one more
draw from the distribution of its letter-shuffled versions. So next to the m labels we
embed ``NULLS_PER_LABEL`` x m shuffled ones (same template), and a label is suggested only
if it beats *every* shuffle for that group. When the labels are meaningless, all
m + N prompts are exchangeable, and the chance that the best of the m labels is the best
of all is m / (m + N) = 1 / (1 + ``NULLS_PER_LABEL``) = ``ALPHA`` (5 %), whatever the
model and the group. A model that knows the word places it far above the gibberish.
The built-in vocabularies share one pool of shuffles (of all their labels: sized for the
largest), so each vocabulary's false-suggestion rate stays at or below ``ALPHA``.

Prompt vectors are computed once per model's weights and kept in the app's cache folder
(:mod:`photoorg.core.models.prompt_cache`, shared by every library) and in the catalog
(``prompt_vectors``), so suggestions need no model at read time (the window has none
loaded): the pipeline's names stage calls :func:`prepare` (from the shared cache when it
has them, else with the encoder).
Nothing is applied by itself: :func:`accept` names the cluster when the user says so.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from photoorg.core.groups import clusters as cl
from photoorg.core.models import prompt_cache
from photoorg.core.store.catalog import Catalog, vector_blob

ALPHA = 0.05
NULLS_PER_LABEL = math.ceil(1 / ALPHA) - 1  # m / (m + 19 m) = 5 %
TEMPERATURE = 100.0  # CLIP's logit scale
TEMPLATE = "a photo of {}"
_KEEP_WORDS = frozenset({"a", "an", "the", "at", "of", "in", "on", "with", "and"})

TextEncoder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Vocabulary:
    """Labels (what a suggestion names a group) and the phrase each is prompted with."""

    name: str
    entries: tuple[tuple[str, str], ...]  # (label, phrase)

    @classmethod
    def of(cls, labels: Iterable[str], name: str = "custom", article: str = "a") -> Vocabulary:
        """A vocabulary from plain labels, each prompted as "a photo of a <label>"."""
        return cls(name, tuple((lab, f"{article} {lab}".strip()) for lab in labels))

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.entries]

    @property
    def prompts(self) -> list[str]:
        return [TEMPLATE.format(phrase) for _, phrase in self.entries]


def _entries(spec: str) -> tuple[tuple[str, str], ...]:
    """``"label=phrase; ..."``, or just ``"label"`` for "a <label>"."""
    out = []
    for item in spec.split(";"):
        item = item.strip()
        if item:
            label, _, phrase = item.partition("=")
            out.append((label.strip(), (phrase or f"a {label}").strip()))
    return tuple(out)


SCENES = Vocabulary("scenes", _entries(
    "beach; snow=snow; mountains=mountains; forest; city at night; birthday=a birthday party; "
    "wedding; concert; food=food on a plate; document=a document; screenshot=a screenshot "
    "of a phone or computer screen; whiteboard; sunset; garden; lake; desert; "
    "swimming pool; kitchen; museum; stadium; fireworks=fireworks; christmas=a christmas tree; "
    "playground; waterfall; countryside=the countryside; street=a city street; "
    "restaurant; classroom; car"
))
PETS = Vocabulary("pets", _entries(
    "dog; cat; bird; horse; rabbit; fish=a fish in an aquarium; hamster; guinea pig; "
    "turtle; lizard; parrot; puppy; kitten; chicken; goat"
))
BUILTIN: dict[str, Vocabulary] = {"pets": PETS, "scenes": SCENES, "places": SCENES}
"""Which vocabulary each kind of group is named from (places: what the place looks like)."""


@dataclass(frozen=True)
class Suggestion:
    """A name for a group, and how sure the model is among its vocabulary (0-1)."""

    name: str
    confidence: float
    label: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": round(self.confidence, 4)}


# -- null prompts ------------------------------------------------------------------------


def _shuffle_word(word: str, rng: random.Random) -> str:
    letters = list(word)
    if len(set(letters)) < 2:
        return word
    for _ in range(20):
        rng.shuffle(letters)
        if "".join(letters) != word:
            break
    return "".join(letters)


def shuffled_phrase(phrase: str, rng: random.Random) -> str:
    """The phrase with the letters of each content word shuffled ("a hbcea")."""
    return " ".join(w if w in _KEEP_WORDS else _shuffle_word(w, rng) for w in phrase.split())


def null_prompts(vocabularies: Sequence[Vocabulary], seed: int = 0) -> list[str]:
    """``NULLS_PER_LABEL`` shuffled prompts per label of the largest vocabulary, drawn
    round-robin from the phrases of all of them (deterministic)."""
    phrases = [phrase for v in vocabularies for _, phrase in v.entries]
    if not phrases:
        return []
    wanted = NULLS_PER_LABEL * max(len(v.entries) for v in vocabularies)
    rng = random.Random(seed)
    return [TEMPLATE.format(shuffled_phrase(phrases[i % len(phrases)], rng))
            for i in range(wanted)]


# -- prompt vectors, per model, in the catalog ----------------------------------------------


def _encode_fn(encoder: Any) -> TextEncoder:
    return getattr(encoder, "encode_texts", encoder)


def stored_prompt_vectors(
    cat: Catalog, model_id: int, prompts: Sequence[str], encoder: Any | None = None
) -> np.ndarray | None:
    """Vectors of ``prompts`` for a model: from the catalog, the missing ones computed with
    ``encoder`` (and stored) when given; None when some are missing and no encoder."""
    unique = list(dict.fromkeys(prompts))
    have: dict[str, np.ndarray] = {}
    for start in range(0, len(unique), 400):
        part = unique[start : start + 400]
        marks = ",".join("?" * len(part))
        for prompt, blob in cat.query(
            f"SELECT prompt, vector FROM prompt_vectors WHERE model_id = ? AND prompt IN ({marks})",
            [model_id, *part],
        ):
            have[prompt] = np.frombuffer(blob, dtype=np.float32)
    missing = [p for p in unique if p not in have]
    if missing:
        model = cat.model(model_id)
        shared = prompt_cache.load(model.spec, missing) if model is not None else {}
        encode = [p for p in missing if p not in shared]
        if encode and encoder is None:
            return None
        found = dict(shared)
        if encode:
            vecs = np.asarray(_encode_fn(encoder)(encode), dtype=np.float32)
            fresh = dict(zip(encode, vecs, strict=True))
            if model is not None:
                prompt_cache.save(model.spec, fresh)
            found.update(fresh)
        have.update((p, found[p]) for p in missing)
        if not cat.readonly:  # a reader (the window's queries) uses them without keeping them
            with cat.transaction():
                for prompt in missing:
                    cat.execute(
                        "INSERT OR REPLACE INTO prompt_vectors(model_id, prompt, vector) "
                        "VALUES(?, ?, ?)", (model_id, prompt, vector_blob(found[prompt])))
    return np.stack([have[p] for p in prompts]) if prompts else np.zeros((0, 0), np.float32)


def _null_for(vocabulary: Vocabulary) -> list[str]:
    builtin = {id(v) for v in BUILTIN.values()}
    if id(vocabulary) in builtin:
        return null_prompts(list({id(v): v for v in BUILTIN.values()}.values()))
    return null_prompts([vocabulary])


def _builtin_prompts() -> list[str]:
    vocabs = list({id(v): v for v in BUILTIN.values()}.values())
    return [p for v in vocabs for p in (*v.prompts, *_null_for(v))]


def is_prepared(cat: Catalog, model_id: int | None = None) -> bool:
    """Whether the built-in vocabularies' vectors are kept for the (active) model."""
    model = cat.model(model_id) if model_id is not None else cat.active_model()
    if model is None:
        return False
    wanted = set(_builtin_prompts())
    have = cat.scalar("SELECT COUNT(*) FROM prompt_vectors WHERE model_id = ?", (model.id,))
    return have >= len(wanted) and stored_prompt_vectors(
        cat, model.id, sorted(wanted)) is not None


def prepare(cat: Catalog, encoder: Any, model_id: int | None = None,
            vocabularies: Iterable[Vocabulary] | None = None) -> bool:
    """Compute and keep the prompt vectors suggestions need (once per model). False when the
    library has no model yet."""
    model = cat.model(model_id) if model_id is not None else cat.active_model()
    if model is None:
        return False
    if vocabularies is None:
        prompts = _builtin_prompts()
    else:
        prompts = [p for v in vocabularies for p in (*v.prompts, *_null_for(v))]
    return stored_prompt_vectors(cat, model.id, prompts, encoder) is not None


# -- the decision ------------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms == 0, 1, norms)


def suggest_label(
    member_vectors: np.ndarray, label_vectors: np.ndarray, null_vectors: np.ndarray,
    labels: Sequence[str],
) -> Suggestion | None:
    """The gated zero-shot label of a group (see the module doc); None when the best label
    does not beat every shuffled prompt."""
    if not len(member_vectors) or not len(labels) or not len(null_vectors):
        return None
    centroid = _unit(_unit(member_vectors).mean(0))
    scores = _unit(label_vectors) @ centroid
    best = int(np.argmax(scores))
    if scores[best] <= float((_unit(null_vectors) @ centroid).max()):
        return None
    logits = TEMPERATURE * (scores - scores[best])
    probs = np.exp(logits) / np.exp(logits).sum()
    return Suggestion(labels[best], float(probs[best]), labels[best])


def _name_for(info: cl.ClusterInfo, label: str) -> str:
    if info.kind == "places" and info.auto_name:
        return f"{label} in {info.auto_name.rsplit(', ', 1)[0]}"
    return label


def suggest_names(
    cat: Catalog,
    infos: Iterable[cl.ClusterInfo],
    *,
    encoder: Any | None = None,
    vocabularies: Mapping[str, Vocabulary] | None = None,
    model_id: int | None = None,
) -> dict[int, Suggestion | None]:
    """A suggestion (or None) for each unnamed, shown pet, scene and place cluster among
    ``infos``. Uses the stored prompt vectors (computed with ``encoder`` when missing; without
    either, no suggestions). ``vocabularies``: per kind, instead of the built-in ones."""
    model = cat.model(model_id) if model_id is not None else cat.active_model()
    out: dict[int, Suggestion | None] = {}
    wanted = [i for i in infos if i.kind in BUILTIN and i.name is None and not i.hidden
              and i.photo_ids]
    if model is None or not wanted:
        return {i.id: None for i in wanted}
    prepared: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    for info in wanted:
        vocab = (vocabularies or {}).get(info.kind) or BUILTIN[info.kind]
        if vocab.name not in prepared:
            nulls = _null_for(vocab)
            vecs = stored_prompt_vectors(cat, model.id, [*vocab.prompts, *nulls], encoder)
            prepared[vocab.name] = None if vecs is None else (
                vecs[: len(vocab.prompts)], vecs[len(vocab.prompts):])
        vectors = prepared[vocab.name]
        if vectors is None:
            out[info.id] = None
            continue
        _, member_x = cat.vectors_for_ids(model.id, info.photo_ids[:2000])
        found = suggest_label(member_x, vectors[0], vectors[1], vocab.labels)
        out[info.id] = None if found is None else Suggestion(
            _name_for(info, found.label), found.confidence, found.label)
    return out


def accept(cat: Catalog, cluster_id: int, suggestion: Suggestion | str) -> cl.ClusterInfo:
    """The user took the suggestion: name the cluster with it."""
    name = suggestion.name if isinstance(suggestion, Suggestion) else str(suggestion)
    return cl.name_cluster(cat, cluster_id, name)

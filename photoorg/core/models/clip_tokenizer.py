"""CLIP's byte-pair tokenizer without torch: the same token ids as open_clip's
``SimpleTokenizer`` (open_clip's module imports torch, 490 MB, just to return a tensor).

A port of ``open_clip/tokenizer.py`` (itself from https://github.com/openai/CLIP; MIT
License, Copyright (c) 2021 OpenAI), reading the vocabulary open_clip ships
(``bpe_simple_vocab_16e6.txt.gz``). Tests compare it with open_clip's on varied text
(unicode, punctuation, HTML entities, text past the context length).
"""

from __future__ import annotations

import functools
import gzip
import html
import string
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

SOT, EOT = "<start_of_text>", "<end_of_text>"
_MERGES = 49152 - 256 - 2
_NO_RANK = float("inf")


@functools.cache
def _bytes_to_unicode() -> dict[int, str]:
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def _pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return set(zip(word, word[1:], strict=False))


def _basic_clean(text: str) -> str:
    if text.isascii() and text.isprintable() and "&" not in text:
        # ftfy and html.unescape leave such text as it is (every fix needs a non-ASCII or
        # control character or an entity); importing ftfy took 30-60 ms of a search
        return text.strip()
    import ftfy

    return html.unescape(html.unescape(ftfy.fix_text(text))).strip()


def _whitespace_clean(text: str) -> str:
    return " ".join(text.split()).strip()


def _canonicalize(text: str) -> str:
    text = text.replace("_", " ").translate(str.maketrans("", "", string.punctuation))
    return " ".join(text.lower().split()).strip()


CLEAN: dict[str, Callable[[str], str]] = {
    "lower": lambda t: _whitespace_clean(_basic_clean(t)).lower(),
    "whitespace": lambda t: _whitespace_clean(_basic_clean(t)),
    "canonicalize": lambda t: _canonicalize(_basic_clean(t)),
}


def default_vocabulary() -> Path | None:
    """open_clip's vocabulary file, found without importing open_clip (None: not installed)."""
    import importlib.util

    found = importlib.util.find_spec("open_clip")
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(next(iter(found.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"
    return path if path.is_file() else None


def _read_merges(vocabulary: Path, plain_copy: Path | None) -> list[str]:
    """The merges of the gzipped vocabulary; with ``plain_copy``, read from (and first
    saved to) that uncompressed copy, stamped with the source's size and modification
    time on its first line (decompressing took 40-45 ms of a command-line search)."""
    st = vocabulary.stat()
    stamp = f"#photoorg-merges {st.st_size} {st.st_mtime_ns}"
    if plain_copy is not None:
        try:
            lines = plain_copy.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            lines = []
        if lines and lines[0] == stamp and len(lines) == _MERGES + 1:
            return lines[1:]
    with gzip.open(vocabulary) as f:
        merges = f.read().decode("utf-8").split("\n")[1 : _MERGES + 1]
    if plain_copy is not None:
        from photoorg.core.models.cache_files import write_atomic

        try:
            write_atomic(plain_copy, "\n".join([stamp, *merges]).encode("utf-8"))
        except OSError as exc:
            import logging

            logging.getLogger(__name__).warning("cannot save %s (%s)", plain_copy, exc)
    return merges


class ClipTokenizer:
    """Texts in, ``(N, context_length)`` int64 token ids out, as open_clip's SimpleTokenizer."""

    def __init__(self, vocabulary: Path, context_length: int = 77, clean: str = "lower",
                 special_tokens: Sequence[str] = (), plain_copy: Path | None = None) -> None:
        import regex

        # each merge is "first second" (byte-encoded symbols hold no space): ranks keyed by
        # that text, built at C speed without splitting 48,894 lines into tuples
        merges = _read_merges(vocabulary, plain_copy)
        vocab = list(_bytes_to_unicode().values())
        vocab = vocab + [v + "</w>" for v in vocab] + [m.replace(" ", "") for m in merges]
        specials = [SOT, EOT, *special_tokens]
        vocab.extend(specials)
        self.encoder = dict(zip(vocab, range(len(vocab)), strict=True))
        self.ranks = dict(zip(merges, range(len(merges)), strict=True))
        self.cache: dict[str, str] = {t: t for t in specials}
        self.pattern = regex.compile(
            "|".join(specials) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)
        self.sot, self.eot = self.encoder[SOT], self.encoder[EOT]
        self.context_length = context_length
        if clean not in CLEAN:
            raise ValueError(f"unknown clean function {clean!r}")
        self.clean = CLEAN[clean]
        self._byte_encoder = _bytes_to_unicode()

    def _rank(self, pair: tuple[str, str]) -> float:
        return self.ranks.get(f"{pair[0]} {pair[1]}", _NO_RANK)

    def _bpe(self, token: str) -> str:
        if token in self.cache:
            return self.cache[token]
        word = (*token[:-1], token[-1] + "</w>")
        pairs = _pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=self._rank)
            if self._rank(bigram) == _NO_RANK:
                break
            first, second = bigram
            merged: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    merged.extend(word[i:])
                    break
                merged.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        joined = " ".join(word)
        self.cache[token] = joined
        return joined

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for token in self.pattern.findall(self.clean(text)):
            token = "".join(self._byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[part] for part in self._bpe(token).split(" "))
        return ids

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None
                 ) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        length = context_length or self.context_length
        out = np.zeros((len(texts), length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.sot, *self.encode(text), self.eot]
            if len(ids) > length:
                ids = ids[:length]
                ids[-1] = self.eot
            out[row, : len(ids)] = ids
        return out

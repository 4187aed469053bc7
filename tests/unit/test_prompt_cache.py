"""Suggested names' prompt vectors are encoded once per model's weights, for every library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photoorg.core.groups import suggest as sg
from photoorg.core.models import prompt_cache
from photoorg.core.models.embedder import TEST_MODEL, load_embedder, weights_available, weights_file
from photoorg.core.store.catalog import Catalog

pytestmark = pytest.mark.skipif(not weights_available(TEST_MODEL), reason="tiny model missing")


class Counting:
    """The real tiny encoder, counting the prompts it is asked to encode."""

    def __init__(self) -> None:
        self.inner = load_embedder(TEST_MODEL, threads=1)
        self.encoded = 0

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode_texts(texts)


@pytest.fixture(autouse=True)
def own_cache(data_dir: Path) -> None:
    """Each test its own app cache folder (``tmp_path / "cache"``)."""


def _library(path: Path, spec: str = TEST_MODEL) -> Catalog:
    cat = Catalog(path)
    cat.set_target_model(spec, 64)  # the first model is the active one at once
    return cat


def test_second_library_reads_the_vectors_the_first_encoded(tmp_path: Path) -> None:
    encoder = Counting()
    prompts = sg._builtin_prompts()
    with _library(tmp_path / "a.sqlite") as first:
        assert not sg.prepare(first, None)  # nothing cached, no encoder: not prepared
        assert sg.prepare(first, encoder)
        assert encoder.encoded == len(set(prompts))
        model_id = first.active_model().id
        made = sg.stored_prompt_vectors(first, model_id, prompts)
    with _library(tmp_path / "b.sqlite") as second:
        assert sg.prepare(second, None)  # no encoder needed
        assert sg.is_prepared(second)
        again = sg.stored_prompt_vectors(second, second.active_model().id, prompts)
    assert encoder.encoded == len(set(prompts))  # nothing encoded twice
    np.testing.assert_array_equal(again, made)


def test_other_weights_do_not_share_vectors(tmp_path: Path) -> None:
    encoder = Counting()
    with _library(tmp_path / "a.sqlite") as cat:
        sg.prepare(cat, encoder)
    copy = tmp_path / "copy.safetensors"
    weights = weights_file(TEST_MODEL)
    assert weights is not None
    copy.write_bytes(weights.read_bytes())
    same_key = prompt_cache.weights_key(f"{TEST_MODEL.split('/')[0]}/{copy}")
    assert same_key == prompt_cache.weights_key(TEST_MODEL)  # same bytes, same vectors
    copy.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    assert prompt_cache.weights_key(f"{TEST_MODEL.split('/')[0]}/{copy}") != same_key
    assert prompt_cache.weights_key("ViT-B-32/random") != prompt_cache.weights_key(
        "ViT-B-32/random:1")


def test_a_damaged_cache_costs_time_only(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                         ) -> None:
    encoder = Counting()
    with _library(tmp_path / "a.sqlite") as cat:
        sg.prepare(cat, encoder)
    key = prompt_cache.weights_key(TEST_MODEL)
    cached = next(Path(p) for p in (tmp_path / "cache" / prompt_cache.FOLDER).glob(f"{key}*"))
    cached.write_bytes(b"not a numpy file")
    with _library(tmp_path / "b.sqlite") as cat:
        assert not sg.prepare(cat, None)
        assert "cannot read the cached prompt vectors" in caplog.text
        assert sg.prepare(cat, encoder)  # encoded again, and the cache rewritten
    with _library(tmp_path / "c.sqlite") as cat:
        assert sg.prepare(cat, None)


def test_a_read_only_reader_uses_the_cache_without_writing(tmp_path: Path) -> None:
    """The window's query worker reads the catalog read-only: vectors found in the app's cache
    answer it, and nothing tries to write them into the catalog (an error before)."""
    encoder = Counting()
    prompts = sg._builtin_prompts()
    with _library(tmp_path / "a.sqlite") as first:
        sg.prepare(first, encoder)
        made = sg.stored_prompt_vectors(first, first.active_model().id, prompts)
    _library(tmp_path / "b.sqlite").close()
    with Catalog(tmp_path / "b.sqlite", readonly=True) as reader:
        got = sg.stored_prompt_vectors(reader, reader.active_model().id, prompts)
        assert reader.scalar("SELECT COUNT(*) FROM prompt_vectors") == 0
    np.testing.assert_array_equal(got, made)

"""The torch-free tokenizer gives exactly open_clip's token ids."""

from __future__ import annotations

import numpy as np
import pytest

from photoorg.core.models.clip_tokenizer import ClipTokenizer, default_vocabulary

TEXTS = [
    "a dog on the beach",
    "A DOG   on the Beach!!",
    "",
    "   ",
    "Café crème brûlée à Paris — naïve façade",
    "日本語のテキスト、東京タワー",
    "emoji 🐶🏖️ and 👨‍👩‍👧",
    "&amp; &lt;b&gt;html&lt;/b&gt; &quot;quoted&quot; it's they're we'll I'd",
    "numbers 12345 3.14159 1,000,000 and 2026-12-06",
    "ﬁnancial ligatures and Ｆｕｌｌｗｉｄｔｈ",
    "mojibake: Ã©tÃ© cafÃ©",
    "tabs\tand\nnewlines\r\n",
    "a photo of " + "very " * 100 + "long text",
    "Привет мир, Ελληνικά, עברית, العربية",
    "<start_of_text> a literal special token <end_of_text>",
    "snake_case and kebab-case and C++ and e-mail@example.com",
]


@pytest.fixture(scope="module")
def reference():
    pytest.importorskip("open_clip")
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer


@pytest.mark.parametrize("clean", ["lower", "whitespace", "canonicalize"])
def test_same_ids_as_open_clip(reference, clean):
    ours = ClipTokenizer(default_vocabulary(), context_length=77, clean=clean)
    theirs = reference(context_length=77, clean=clean)
    got = ours(TEXTS)
    want = theirs(TEXTS).numpy()
    assert got.dtype == np.int64 and got.shape == (len(TEXTS), 77)
    for text, a, b in zip(TEXTS, got, want, strict=True):
        assert a.tolist() == b.tolist(), text


def test_short_context_truncates_with_end_token(reference):
    ours = ClipTokenizer(default_vocabulary(), context_length=16)
    want = reference(context_length=16)(TEXTS).numpy()
    assert np.array_equal(ours(TEXTS), want)
    assert (ours(TEXTS[-4:])[:, -1] != 0).any()


def test_plain_copy_of_the_merges_gives_the_same_ids_and_is_remade_when_stale(reference,
                                                                               tmp_path):
    copy = tmp_path / "bpe-merges.txt"
    want = reference(context_length=77)(TEXTS).numpy()
    first = ClipTokenizer(default_vocabulary(), plain_copy=copy)
    assert copy.is_file() and copy.read_text().startswith("#photoorg-merges ")
    assert np.array_equal(first(TEXTS), want)
    assert np.array_equal(ClipTokenizer(default_vocabulary(), plain_copy=copy)(TEXTS), want)
    copy.write_text("#photoorg-merges 1 2\nt h\n")  # another vocabulary's (or cut short)
    assert np.array_equal(ClipTokenizer(default_vocabulary(), plain_copy=copy)(TEXTS), want)
    assert len(copy.read_text().split("\n")) == 48894 + 1


def test_plain_ascii_skips_ftfy_with_the_same_result():
    import html
    import random
    import string

    import ftfy

    from photoorg.core.models.clip_tokenizer import _basic_clean

    rng = random.Random(0)
    alphabet = string.printable + "&;#"  # with tabs, newlines, entities' characters
    texts = ["a dog on the beach", "  x  ", "&amp; dogs", "Tom &amp; Jerry", "a\tb\r\nc",
             "&#x27;quoted&#x27;", "\x1b[31mred\x1b[0m", "a\x7fb", "<b>&lt;</b>"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
              for _ in range(3000)]
    for text in texts:
        assert _basic_clean(text) == html.unescape(html.unescape(ftfy.fix_text(text))).strip()

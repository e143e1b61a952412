"""style + styleWeight: effect presets blended by weight (engine/style.py)."""

from __future__ import annotations

import numpy as np

from mashup_site.engine.style import PRESETS, apply_style, classify, described, words
from tests import signals

SR = signals.SR


def test_it_reads_style_words_and_their_aliases() -> None:
    assert words("Lo-Fi Hip Hop, dreamy!") == ["lofi", "hiphop", "dreamy"]


def test_it_changes_the_sound_by_the_style_weight() -> None:
    mix = signals.song(120, 0, "major", 6)["mix"]
    light, applied, unknown = apply_style(mix, SR, "lofi polka", 0.2)
    heavy, _, _ = apply_style(mix, SR, "lofi polka", 1.0)
    assert (applied, unknown) == (["lofi"], ["polka"])
    change = [float(np.sqrt(((x - mix) ** 2).mean())) for x in (light, heavy)]
    assert 0 < change[0] < change[1]
    assert light.shape == mix.shape and light.dtype == np.float32


def test_it_leaves_the_mix_alone_at_weight_zero_or_without_known_words() -> None:
    mix = signals.song(120, 0, "major", 4)["mix"]
    assert apply_style(mix, SR, "lofi", 0.0)[0] is mix
    assert apply_style(mix, SR, "polka", 1.0)[0] is mix


def test_it_says_which_style_words_were_heard_and_at_what_weight() -> None:
    text = described("Lo-fi dreamy polka", 0.35)
    assert text.startswith("Style: lofi and dreamy effects at 35%")
    assert "“polka”" in text and "no effect" in text


def test_words_that_only_join_others_are_neither_effects_nor_unknown() -> None:
    assert classify("lofi with rain and the sea") == (["lofi"], ["rain", "sea"])


def test_a_long_style_names_a_few_of_its_words_without_effect() -> None:
    text = described("rock " + " ".join(f"word{n}" for n in range(40)), 0.5)
    assert "“word7”" in text and "“word8”" not in text and "and 32 more" in text


def test_it_says_when_no_style_word_has_an_effect_and_which_ones_do() -> None:
    text = described("shoegaze, with female vocals", 0.5)
    assert "none of its words" in text
    assert all(name in text for name in PRESETS)  # what to write instead


def test_it_says_a_style_named_at_weight_zero_adds_nothing() -> None:
    assert "style weight is 0" in described("rock", 0.0)


def test_it_says_nothing_of_a_style_not_asked_for() -> None:
    assert described("", 0.5) == ""

"""Library code shown on a chapter's page (``catapult.listing``)."""

from __future__ import annotations

import pytest

from catapult import listing, train
from catapult.chapters import deep_curvature


def test_source_shows_the_code_that_runs_as_one_python_block():
    shown = listing.source(deep_curvature.sweep_fc, train.spike_steps)
    md = shown._repr_markdown_()
    assert md.startswith("```python\n# catapult.chapters.deep_curvature.sweep_fc\ndef sweep_fc(") and md.endswith("\n```")
    assert "# catapult.train.spike_steps\ndef spike_steps(" in md and "train.sweep(" in md
    assert repr(shown) == shown.text and "```" not in shown.text


def test_methods_are_dedented_and_a_fence_inside_the_code_is_outgrown():
    class Holder:
        def method(self):
            return "```"

    text = listing.source(Holder.method).text
    assert "\ndef method(self):\n    return" in text
    assert listing.source(Holder.method)._repr_markdown_().startswith("````python\n")


def test_nothing_or_a_builtin_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        listing.source()
    with pytest.raises(ValueError, match="cannot show"):
        listing.source(len)

"""Every chapter's settings at every scale, and the errors for unknown names."""

import pytest

import catapult
from catapult.scales import CHAPTERS, SCALES, settings


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_every_scale_with_the_same_keys(chapter):
    keys = {scale: set(settings(chapter, scale)) for scale in SCALES}
    assert all(k == keys["ci"] for k in keys.values()), keys


def test_settings_access_and_overrides():
    cfg = settings("01_warmup_model", "ci", seed=3)
    assert cfg.seed == 3 and cfg["seed"] == 3 and cfg.scale == "ci"
    assert "scale <code>ci</code>" in cfg._repr_html_()
    with pytest.raises(AttributeError, match="has no setting"):
        cfg.no_such_setting
    with pytest.raises(ValueError, match="unknown settings"):
        settings("01_warmup_model", "ci", no_such_setting=1)


def test_unknown_scale_and_chapter_list_the_valid_ones():
    with pytest.raises(ValueError, match="valid scales are: smoke, ci, paper"):
        settings("01_warmup_model", "huge")
    with pytest.raises(ValueError, match="valid chapters are: 01_warmup_model"):
        catapult.settings("99_nothing", "ci")

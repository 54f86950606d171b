"""Every chapter's settings at every scale: typed records, checked overrides, shifted seeds,
and the errors for unknown names."""

import dataclasses

import pytest

import catapult
from catapult import scales
from catapult.scales import CHAPTERS, SCALES, Record, Settings, settings


def _records(rec, path=""):
    """(path, record) of ``rec`` and every record nested in it."""
    yield path, rec
    for name, value in rec.asdict().items():
        if isinstance(value, Record):
            yield from _records(value, f"{path}{name}.")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_one_record_at_every_scale(chapter):
    records = {scale: settings(chapter, scale) for scale in SCALES}
    assert len({type(r) for r in records.values()}) == 1
    for scale, cfg in records.items():
        assert isinstance(cfg, Settings) and cfg.chapter == chapter and cfg.scale == scale
        assert "scale" not in cfg.asdict() and cfg.seed == 0


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_one_spelling_per_key_and_every_seed_ends_in_seed(chapter):
    """``batch_size`` (not ``batch``), ``data_seed`` (not ``dataset_seed``), ``image_size``; a
    field with "seed" in its name is a seed (``*seed``, an int) or a count (``*seeds``)."""
    for path, rec in _records(settings(chapter, "paper")):
        for f in dataclasses.fields(rec):
            assert f.name not in ("batch", "dataset_seed", "image", "lam_batch"), (chapter, path, f.name)
            if "seed" in f.name:
                assert f.name.endswith(("seed", "seeds")), (chapter, path, f.name)
                assert isinstance(getattr(rec, f.name), int), (chapter, path, f.name)


def test_records_are_frozen_and_attribute_only():
    cfg = settings("04_deep_curvature", "smoke")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.wrn.depth = 1
    with pytest.raises(TypeError):
        cfg["seed"]
    assert cfg.wrn.batch_size == 16 and cfg.batch_size == 64 and cfg.data_seed == 0
    assert settings("04_deep_curvature", "smoke") == cfg  # the same values each call


def test_settings_access_and_overrides():
    cfg = settings("01_warmup_model", "ci", seed=3, fig2_cs=[0.5, 1.5])
    assert cfg.seed == 3 and cfg.scale == "ci" and cfg.fig2_cs == (0.5, 1.5)  # a list becomes a tuple
    assert settings("01_warmup_model", "ci").seed == 0  # the table itself is unchanged
    assert settings("01_warmup_model", "ci", fig2_time=30).fig2_time == 30  # an int where a float is expected
    with pytest.raises(AttributeError, match="no_such_setting"):
        cfg.no_such_setting
    with pytest.raises(ValueError, match=r"unknown settings \['no_such_setting'\].*valid ones: seed, fig2_width"):
        settings("01_warmup_model", "ci", no_such_setting=1)


@pytest.mark.parametrize("overrides, message", [
    (dict(seed="3"), r"'seed' of chapter '01_warmup_model' must be int, got '3' \(str\)"),
    (dict(fig2_width=1000.0), r"'fig2_width' .* must be int, got 1000.0 \(float\)"),
    (dict(seed=True), r"'seed' .* must be int"),
    (dict(fig2_time="25"), r"'fig2_time' .* must be float"),
    (dict(fig2_cs=(0.5, "x")), r"'fig2_cs' .* must be tuple\[float, \.\.\.\]"),
    (dict(critical_eps_range=(0.1, 0.2, 0.3)), r"'critical_eps_range' .* must be tuple\[float, float\]"),
])
def test_overrides_of_the_wrong_type_say_what_is_expected(overrides, message):
    with pytest.raises(ValueError, match=message):
        settings("01_warmup_model", "smoke", **overrides)


def test_nested_overrides():
    base = settings("04_deep_curvature", "smoke")
    cfg = settings("04_deep_curvature", "smoke", n_train=128, wrn={"n_train": 32, "eta_over_crit": [0.5]})
    assert (cfg.n_train, cfg.wrn.n_train, cfg.wrn.eta_over_crit) == (128, 32, (0.5,))
    assert cfg.wrn.n_test == base.wrn.n_test and cfg.scale == "smoke"
    whole = dataclasses.replace(base.wrn, depth=16)
    assert settings("04_deep_curvature", "smoke", wrn=whole).wrn is whole
    with pytest.raises(ValueError, match=r"wrn: unknown settings \['batch'\] for CurvatureWRN; valid ones: depth"):
        settings("04_deep_curvature", "smoke", wrn={"batch": 8})
    with pytest.raises(ValueError, match=r"'n_train' of CurvatureWRN must be int"):
        settings("04_deep_curvature", "smoke", wrn={"n_train": "32"})
    with pytest.raises(ValueError, match=r"'wrn' of chapter '04_deep_curvature' must be CurvatureWRN"):
        settings("04_deep_curvature", "smoke", wrn=3)
    # chapter 6: the network's options are a record of the arch's own type, nested two deep
    cifar = settings("06_where_large_lrs_lead", "smoke", cifar={"net": {"channels": (4, 8)}}).cifar
    assert cifar.net.channels == (4, 8) and cifar.net.asdict() == {"channels": (4, 8)}
    paper = settings("06_where_large_lrs_lead", "paper").cifar
    assert (paper.arch, paper.net, paper.image_size) == ("resnet18", scales.ResNet18Options(width=32), 32)
    with pytest.raises(ValueError, match="not arch 'convnet'"):
        settings("06_where_large_lrs_lead", "smoke", cifar={"net": scales.ResNet18Options(width=4)})
    both = settings("06_where_large_lrs_lead", "smoke", cifar={"arch": "resnet18", "net": scales.ResNet18Options(width=4)})
    assert both.cifar.net.width == 4


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_shift_seeds_moves_every_seed_and_nothing_else(chapter):
    cfg = settings(chapter, "ci")
    shifted = cfg.shift_seeds(5)
    assert type(shifted) is type(cfg) and shifted.scale == "ci" and cfg.shift_seeds(0) == cfg
    seeds = 0
    for (path, a), (_, b) in zip(_records(cfg), _records(shifted)):
        for name, value in a.asdict().items():
            if isinstance(value, Record):
                continue
            expected = value + 5 if name.endswith("seed") else value
            seeds += name.endswith("seed")
            assert getattr(b, name) == expected, (chapter, path, name)
    assert seeds >= 1
    assert shifted.shift_seeds(-5) == cfg


def test_nested_seeds_are_shifted():
    cfg = settings("06_where_large_lrs_lead", "smoke").shift_seeds(2)
    assert (cfg.seed, cfg.data_seed, cfg.cifar.seed, cfg.cifar.data_seed) == (2, 2, 2, 2)
    assert (cfg.seeds, cfg.ft_seeds, cfg.cifar.seeds) == (3, 1, 1)  # counts, not seeds


def test_repr_and_html_list_every_setting_nested_ones_as_lines():
    cfg = settings("04_deep_curvature", "smoke")
    text = repr(cfg)
    assert text.startswith("Settings of 04_deep_curvature at scale 'smoke':\n  seed = 0\n")
    assert "\n  wrn:\n    depth = 10\n" in text and "scale =" not in text
    page = cfg._repr_html_()
    assert "Settings of this run: scale <code>smoke</code> (27 values)" in page
    assert "<code>depth</code> = 10<br><code>widening</code> = 1" in page


def test_unknown_scale_and_chapter_list_the_valid_ones():
    with pytest.raises(ValueError, match="valid scales are: smoke, ci, paper"):
        settings("01_warmup_model", "huge")
    with pytest.raises(ValueError, match="valid chapters are: 01_warmup_model"):
        catapult.settings("99_nothing", "ci")

"""Chapter 4's measurement records and claims (catapult.chapters.deep_curvature): on small records built by hand, the claims give the chapter's ids and a claim fails
when its measured value is beyond its bound; readouts compute what the prose quotes, and every name a
glue record carries is one the chapter's prose uses."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from catapult import settings, train
from catapult.chapters import deep_curvature as ch4

CHAPTER = "04_deep_curvature"
ROOT = Path(__file__).resolve().parent.parent


def record(cls, **fields):
    """A NamedTuple ``cls`` with ``fields`` set and every other field None."""
    return cls(**{name: fields.pop(name, None) for name in cls._fields}, **fields)


def by_id(checks):
    return {c.id: c for c in checks}


def prose_names(chapter: str) -> set[str]:
    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return set(re.findall(r"\{glue:text\}`([^`]+)`", text))


CH4_IDS = [
    "lazy_lambda_constant", "catapult_lambda_below_2_over_eta", "spike_short", "relu_trains_above_4",
    "relu_diverges_below_20", "tanh_max_below_relu", "wrn_lazy_lambda_constant", "wrn_catapult_lambda_below_2_over_eta",
    "wrn_spike_short", "wrn_trains_above_4",
]


def ch4_records(lazy_dev=0.03, wrn_spike=4.0):
    fc = ch4.FCChecks(
        eta_max={"relu": 12.0, "tanh": 5.0}, first_div={"relu": 14.0, "tanh": 6.0},
        lazy_dev=np.array([0.01, lazy_dev]), cat_ratio=np.array([0.8, 0.95]), tanh_ratio=np.array([]),
        spike_steps=np.array([3.0, 7.0]),
    )
    wrn = record(ch4.WRNChecks, lazy_dev=np.array([0.02]), cat_ratio=np.array([0.7]),
                 spike_steps=np.array([2.0, wrn_spike]), eta_max=9.0)
    return fc, wrn


def test_ch4_claims_ids_and_bounds():
    cfg = settings("04_deep_curvature", "smoke")
    checks = ch4.claims(cfg, *ch4_records())
    assert [c.id for c in checks] == CH4_IDS
    assert all(c.holds for c in checks)
    assert not by_id(ch4.claims(cfg, *ch4_records(lazy_dev=0.11)))["lazy_lambda_constant"].holds
    assert not by_id(ch4.claims(cfg, *ch4_records(wrn_spike=100.0)))["wrn_spike_short"].holds
    fc, wrn = ch4_records()
    assert not by_id(ch4.claims(cfg, fc._replace(cat_ratio=np.array([0.8, 1.2])), wrn))[
        "catapult_lambda_below_2_over_eta"].holds


def test_ch4_fc_readout():
    fc, _ = ch4_records()
    r = ch4.fc_readout(fc)
    assert r.lazy_dev_max == pytest.approx(3.0) and r.n_lazy == 2 and r.n_cat == 2 and r.spike_max == 7.0
    assert r.tanh_ratio == "n/a" and r.relu_eta_max == 12.0 and r.tanh_first_div == 6.0
    assert ch4.fc_readout(fc._replace(tanh_ratio=np.array([0.97, 1.04]))).tanh_ratio == "0.97–1.04"


def test_ch4_fc_checks_reads_a_sweep():
    cfg = settings("04_deep_curvature", "smoke")
    factors = np.asarray(cfg.eta_over_crit)
    n, lam0 = factors.size, 2.0
    etas = factors * 2 / lam0
    div = factors > 5  # the largest rates diverge
    steps = np.arange(0, 11)
    loss = np.tile(np.linspace(1.0, 0.5, steps.size), (n, 1))
    loss[:, 1] = np.where(factors > 1, 3.0, loss[:, 1])  # a spike at step 1 above η_crit
    run = record(train.Run, etas=etas, loss_steps=steps, loss=loss, divergent=div,
                 lam_steps=np.array([0, 5]), lam=np.full((n, 2), lam0), lam_times=np.array([1.0]),
                 lam_at=np.where(factors[:, None] > 1, 0.9 * 2 / etas[:, None], lam0))
    sweep = ch4.FCSweep(lam0=lam0, tau=1.0, run=run, steps=10, seconds=0.0)
    c = ch4.fc_checks(cfg, {"relu": sweep, "tanh": sweep})
    assert c.eta_max["relu"] == pytest.approx(factors[~div].max() * 2)
    assert c.first_div["relu"] == pytest.approx(factors[div].min() * 2)
    assert np.all(c.lazy_dev == 0) and np.allclose(c.cat_ratio, 0.9) and np.all(c.spike_steps == 2)
    assert c.lazy_dev.size == 2 * np.sum(factors <= cfg.lazy_max)


# ------------------------------------------------------------------ glue records and prose

#: The chapter's glue records: every name they carry is one the prose uses.
GLUE_RECORDS = [ch4.ProseSettings, ch4.Lambda0s, ch4.FCReadout, ch4.WRNSettings, ch4.WRNReadout, ch4.PaperCost]

#: Glued by the chapter, though its prose does not (yet) quote them.
UNQUOTED: set[str] = set()


@pytest.mark.parametrize("cls", GLUE_RECORDS, ids=lambda c: c.__name__)
def test_glue_records_carry_names_the_prose_uses(cls):
    used = prose_names(CHAPTER) | UNQUOTED
    unused = sorted(set(cls._fields) - used)
    assert not unused, f"{cls.__name__} glues names {CHAPTER}'s prose never uses: {unused}"

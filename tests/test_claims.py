"""The claim records: when they hold, how they are saved, and how the build finds them."""

import dataclasses
import json

import nbformat
import numpy as np
import pytest

from catapult import claims


def test_within_and_relative():
    assert claims.within("a", "s", "Sec. 1", predicted=2.0, measured=2.01, tolerance=0.02).holds
    assert not claims.within("a", "s", "Sec. 1", predicted=2.0, measured=2.03, tolerance=0.02).holds
    assert claims.within_relative("a", "s", "Sec. 1", predicted=10.0, measured=11.9, rtol=0.2).holds
    assert not claims.within_relative("a", "s", "Sec. 1", predicted=10.0, measured=12.1, rtol=0.2).holds


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_measurements_never_hold(bad):
    assert not claims.within("a", "s", "x", predicted=1.0, measured=bad, tolerance=1e9).holds
    assert not claims.at_most("a", "s", "x", bound=1e9, measured=bad).holds
    assert not claims.at_least("a", "s", "x", bound=-1e9, measured=bad).holds


def test_bounds_and_fractions():
    assert claims.at_most("a", "s", "x", bound=2.0, measured=2.0).holds
    assert not claims.at_most("a", "s", "x", bound=2.0, measured=2.0001).holds
    assert claims.at_least("a", "s", "x", bound=0.9, measured=0.95).holds
    assert claims.fraction("a", "s", "x", passed=np.array([True, True])).holds
    c = claims.fraction("a", "s", "x", passed=[True, False, True])
    assert not c.holds and c.measured == "2/3"
    assert not claims.fraction("a", "s", "x", passed=[]).holds


def test_json_round_trip_has_the_required_keys(tmp_path):
    cs = [
        claims.within("eta_crit", "η_crit = 2/λ0", "Sec. 2.1", predicted=2.0, measured=np.float32(2.01), tolerance=0.02),
        claims.fraction("all_diverge", "every run diverges", "Fig. 2", passed=[True, False]),
    ]
    path = claims.save(cs, tmp_path / "claims" / "ch.json")
    data = json.loads(path.read_text())
    assert [set(d) for d in data] == [set(claims.KEYS + claims.OPTIONAL_KEYS)] * 2
    assert isinstance(data[0]["holds"], bool) and isinstance(data[0]["measured"], float)
    assert claims.load(path) == cs
    assert not list(tmp_path.rglob("*.tmp"))


def test_from_dict_rejects_incomplete_records():
    with pytest.raises(ValueError, match="lacks the keys"):
        claims.Claim.from_dict({"id": "x"})
    with pytest.raises(ValueError, match="claim id"):
        claims.Claim("bad id!", "s", "x", 1, 1, 0, True)


def test_claims_are_found_in_an_executed_notebook():
    c = claims.at_most("x", "s", "Sec. 1", bound=1.0, measured=0.5)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("report()")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": claims.table_html([c]), "text/plain": claims.table_text([c])},
            metadata={claims.MIME: [c.to_dict()]},
        )
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), cell]
    assert claims.from_notebook(nb) == [c]
    assert claims.from_notebook(nbformat.v4.new_notebook()) == []


def test_table_escapes_and_marks():
    c1 = claims.at_most("a", "x < <b>y</b>", "Sec. 1", bound=1.0, measured=0.5)
    c2 = claims.at_most("b", "z", "Sec. 2", bound=1.0, measured=1.5)
    html = claims.table_html([c1, c2])
    assert "&lt;b&gt;" in html and "✓ holds" in html and "✗ fails" in html
    assert "FAILS" in claims.table_text([c2])
    assert claims.failures([c1, c2]) == [c2]


def test_report_rejects_duplicate_ids():
    c = claims.at_most("a", "s", "x", bound=1.0, measured=0.5)
    with pytest.raises(ValueError, match="unique"):
        claims.report([c, c])


@pytest.mark.parametrize("text", ["0.9", "5", "1e-05", "0.0010", "2,790,240", "0.001, 0.003", "SI-ResNet-18 (width 32)", "(a)", "'quoted'", "[1, 2]", "≈ 3"])
def test_glued_text_renders_as_itself(text):
    """myst-nb literal-evaluates glued text/plain before showing it; what it shows must be the text."""
    from myst_nb.core.variables import format_plain_text

    assert format_plain_text(repr(claims._Text(text)), "") == text


def test_each_unclaimed_prediction_carries_its_reason_to_the_table_and_the_json(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda bundle, metadata=None, raw=False: shown.append((bundle, metadata)))
    a = claims.at_least("a", "A", "src", bound=2.0, measured=1.2, predicted="> 2")
    b = claims.at_least("b", "B", "src", bound=2.0, measured=3.0, predicted="> 2")
    c = claims.at_least("c", "C", "src", bound=2.0, measured=3.0, predicted="> 2")
    claims.report([a, b, c], not_claimed=(("a", "2 seeds: no t test reaches 0.1 %"), ("c", "failed in the pilots")))
    bundle, meta = shown[0]
    embedded = {d["id"]: claims.Claim.from_dict(d) for d in meta[claims.MIME]}
    assert embedded["a"].reason == "2 seeds: no t test reaches 0.1 %" and embedded["b"].reason == ""
    assert "2 seeds: no t test reaches 0.1 %" in bundle["text/html"] and "failed in the pilots" in bundle["text/plain"]
    claims.report([a, b], not_claimed={"a": "why"})
    assert shown[-1][1][claims.MIME][0]["reason"] == "why"


@pytest.mark.parametrize("text", ["0.9", "2,790,240", "0.001, 0.003", "'quoted'", "≈ 3"])
def test_colab_shows_glued_text_as_myst_nb_does(text):
    """The Colab form of a chapter puts the glued text where myst-nb would (catapult.book.colab_pages)."""
    from myst_nb.core.variables import format_plain_text

    from catapult.book.colab_pages import plain_glue

    glued = repr(claims._Text(text))
    assert plain_glue(glued) == format_plain_text(glued, "") == text
    assert plain_glue("0.12345", ".2f") == format_plain_text("0.12345", ".2f") == "0.12"


def test_without_myst_nb_glue_prints_this_runs_values(monkeypatch, capsys):
    """Colab has no myst-nb: the cells that glue print name = value rows, beside the published numbers."""
    monkeypatch.setattr(claims, "_myst_glue", lambda: None)
    claims.glue_all({"lam0": 12.3456, "width": 1024, "name": "SI-MLP"}, width="{:d}")
    claims.glue("eta", 0.25, "{:.2f}")
    assert capsys.readouterr().out.splitlines() == ["lam0  = 12.3", "width = 1024", "name  = SI-MLP", "eta = 0.25"]


def test_with_myst_nb_glue_records_and_prints_nothing(monkeypatch, capsys):
    recorded = []
    monkeypatch.setattr(claims, "_myst_glue", lambda: lambda name, value, display: recorded.append((name, repr(value), display)))
    claims.glue_all({"a": 1.5, "b": "1, 2"})
    assert recorded == [("a", "1.5", False), ("b", "'1, 2'", False)] and capsys.readouterr().out == ""


def test_a_claim_measured_as_nan_is_written_as_strict_json(tmp_path):
    import json

    c = claims.Claim("c", "s", "src", predicted=1.0, measured=float("nan"), tolerance="± 1", holds=False)
    path = claims.save([c, claims.Claim("d", "s", "src", predicted=[np.inf], measured=np.float32(2), tolerance=1, holds=True)],
                       tmp_path / "c.json")

    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    data = json.loads(path.read_text(), parse_constant=refuse)
    assert data[0]["measured"] == "nan" and data[1]["predicted"] == ["inf"] and data[1]["measured"] == 2.0


def test_report_shows_what_a_scale_does_not_claim_with_its_status_and_never_fails_on_it(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda bundle, metadata=None, raw=False: shown.append((bundle, metadata)))
    a = claims.at_least("a", "A", "src", bound=2.0, measured=1.2, predicted="> 2")
    b = claims.at_least("b", "B", "src", bound=2.0, measured=3.0, predicted="> 2")
    kept = claims.report([a, b], not_claimed=["a"], why="too few seeds")
    assert [c.id for c in kept] == ["b"]
    assert capsys.readouterr().out == "", "the reason is a row of the table, not a line of monospace text"
    bundle, meta = shown[0]
    heading = "Measured but not claimed at this scale (1): too few seeds."
    assert heading in bundle["text/html"] and heading in bundle["text/plain"]
    html = bundle["text/html"]
    assert html.index(">b<") < html.index(heading) < html.index(">a<"), "claimed rows, then the heading, then the rest"
    embedded = [claims.Claim.from_dict(d) for d in meta[claims.MIME]]
    assert [(c.id, c.claimed) for c in embedded] == [("a", False), ("b", True)]
    assert claims.failures(embedded) == []  # a measurement that is not claimed does not fail the build
    assert "unresolved at this scale" in bundle["text/html"] and "unresolved at this scale" in bundle["text/plain"]
    with pytest.raises(ValueError, match="does not have"):
        claims.report([a, b], not_claimed=["nope"])


def test_status_of_claimed_and_measured_predictions():
    c = claims.at_least("a", "A", "src", bound=2.0, measured=3.0)
    assert claims.status(c) == "holds"
    assert claims.status(dataclasses.replace(c, holds=False)) == "fails"
    assert claims.status(dataclasses.replace(c, claimed=False)) == "holds (not claimed at this scale)"
    assert claims.status(dataclasses.replace(c, claimed=False, holds=False)) == "unresolved at this scale"
    assert claims.status(dataclasses.replace(c, claimed=False, holds=False, contradicts=True)) == (
        "contradicts the paper at this scale")


def test_t_claim_holds_fails_and_contradicts_with_its_chance_and_control():
    rng = np.random.default_rng(0)
    strong = claims.t_claim("s", "S", "src", values=5.0 + 0.3 * rng.standard_normal(12), control="the lazy runs")
    assert strong.holds and strong.n == 12 and strong.chance < claims.CLAIM_CHANCE
    assert strong.control == "the lazy runs" and "one-sided t, n = 12" in strong.test
    assert strong.predicted == "mean > 0" and 4.5 < strong.measured < 5.5
    weak = claims.t_claim("w", "W", "src", values=[0.1, -0.2, 0.3, 0.05], control="c")  # no significant effect
    assert not weak.holds and not weak.contradicts and weak.chance > 0.5
    opposite = claims.t_claim("o", "O", "src", values=-1.0 + 0.1 * rng.standard_normal(8), control="c")
    assert not opposite.holds and opposite.contradicts and opposite.chance == pytest.approx(1.0)
    below = claims.t_claim("b", "B", "src", values=[0.9, 0.8, 0.85, 0.95, 0.9, 0.88, 0.92, 0.86], bound=1.0,
                           side="less", control="c")
    assert below.holds and below.predicted == "mean < 1"
    few = claims.t_claim("f", "F", "src", values=[1.0, np.nan], control="c")  # one finite value: no test
    assert not few.holds and few.chance == 1.0 and few.test.startswith("no t test")
    with pytest.raises(ValueError, match="control"):
        claims.t_claim("x", "X", "src", values=[1.0, 2.0], control=" ")


def test_a_record_without_the_optional_keys_loads_as_claimed():
    d = dict(id="a", statement="s", source="src", predicted=1, measured=1, tolerance="± 0", holds=True)
    c = claims.Claim.from_dict(d)
    assert c.claimed and c.chance is None and c.n is None and claims.status(c) == "holds"
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        claims.Claim("a", "s", "src", 1, 1, 0, True, chance=1.5)


def test_se_claim_states_its_p_and_its_chance_from_the_seeds():
    c = claims.se_claim("z", "Z", "src", z=2.9, n=3, control="the lazy band")  # t_0.99 with 2 df is 6.96
    assert not c.holds and c.n == 3 and "over n = 3 seeds" in c.test and "p = 0.05" in c.test and c.chance > 0.5
    edge = claims.se_claim("z", "Z", "src", z=2.75, n=12, control="the lazy band")  # t_0.99 with 11 df is 2.72
    assert edge.holds and "2.72" in edge.tolerance and edge.chance > 0.5  # just significant: fails most rebuilds
    strong = claims.se_claim("z", "Z", "src", z=20.0, n=16, control="the lazy band")
    assert strong.holds and strong.chance < claims.CLAIM_CHANCE
    assert not claims.se_claim("z", "Z", "src", z=2.9, n=8, control="c").holds  # t_0.99 with 7 df is 3.00
    shown = claims.se_claim("z", "Z", "src", z=5.0, n=8, control="c", mean=0.05, se=0.01)
    assert "mean 0.05 ± 0.01 (SE)" in shown.test and "t = 5.00" in shown.test
    nan = claims.se_claim("z", "Z", "src", z=float("nan"), n=8, control="c")
    assert not nan.holds and nan.chance == 1.0
    hand = claims.se_claim("z", "Z", "src", z=3.0, n=None, control="c")  # a record built by hand: no chance
    assert hand.holds and hand.chance is None and hand.control == "c"
    with pytest.raises(ValueError, match="control"):
        claims.se_claim("z", "Z", "src", z=3.0, n=4, control="")


def test_se_claim_of_the_other_sign_contradicts_only_when_significant():
    assert claims.se_claim("z", "Z", "src", z=-8.0, n=4, control="c").contradicts  # t_0.99 with 3 df is 4.54
    assert not claims.se_claim("z", "Z", "src", z=-4.0, n=4, control="c").contradicts


def test_results_page_lists_unclaimed_predictions_with_status_and_the_total_chance():
    from catapult.book import results

    a = claims.se_claim("band", "the band", "Fig. 4", z=20.0, n=16, control="the lazy band")
    b = dataclasses.replace(claims.se_claim("cnn", "the CNN", "Fig. 5b", z=-9.0, n=4, control="c"), claimed=False)
    c = claims.at_least("plain", "a plain claim", "Sec. 2", bound=1.0, measured=2.0)
    page = results.page([results.Chapter("book/ch", "Chapter", [a, b, c])], "book/results", "ci")
    assert "**2 of 2** claims hold" in page
    assert "1 claims do not carry an estimate yet" in page and "contradicts the paper at this scale 1" in page
    rows = [line for line in page.splitlines() if line.startswith("| {doc}")]
    assert len(rows) == 3 and "contradicts the paper at this scale" in rows[-1]  # unclaimed rows come last
    assert r"\(n = 16\)" in rows[0] and r"\< 1e-6 %" in rows[0] and rows[1].endswith("| – | ✓ holds |")


def test_builders_carry_a_chance_from_repeats():
    c = claims.at_most("a", "s", "p", bound=1.0, measured=0.8, replicates=[0.8, 0.82, 0.79, 0.81], control="x")
    assert c.holds and c.n == 4 and c.chance < 1e-6 and "over 4 builds" in c.test
    far = claims.at_least("b", "s", "p", bound=0.79, measured=0.8, replicates=[0.8, 0.82, 0.79, 0.81])
    assert far.chance > 0.1  # one repeat sits on the bound
    w = claims.within("c", "s", "p", predicted=2.0, measured=2.003, tolerance=0.01,
                      replicates=[2.003, 2.002, 2.0025], draws=3, over="inits")
    assert w.n == 3 and "a rebuild draws 3" in w.test
    m = claims.within_relative("d", "s", "p", predicted=0.75, measured=0.751, rtol=0.1,
                               replicates=np.random.default_rng(0).normal(0.75, 0.17, 1024), over="draws",
                               statistic="mean")
    assert m.chance < 1e-6 and m.test.startswith("mean of 1024 draws")
    f = claims.fraction("e", "s", "p", passed=[True] * 100, required=0.9, pooled=(0, 900))
    assert f.chance < 1e-10 and f.n == 900
    every = claims.fraction("f", "s", "p", passed=[True] * 100, required=1.0, pooled=(0, 900))
    assert every.chance > 0.1  # "every run" cannot be shown with a small chance
    with pytest.raises(ValueError, match="at least two"):
        claims.at_most("g", "s", "p", bound=1.0, measured=0.5, replicates=[0.5])
    e = claims.estimated(c, chance=2.0, n=3, test="t")
    assert e.chance == 1.0 and e.n == 3


def test_repeat_runs_the_rebuild_at_other_seeds_and_keeps_what_decides():
    from catapult.scales import settings

    cfg = settings("01_warmup_model", "smoke")
    seen = []

    def rebuild(c):
        seen.append(c.seed)
        return [claims.at_most("x", "s", "p", bound=1.0, measured=0.1 * len(seen)),
                claims.fraction("y", "s", "p", passed=[True, False, True]),
                claims.fraction("z", "s", "p", passed=[])]

    reps = claims.repeat(rebuild, cfg, 3)
    assert seen == [cfg.seed + claims.REPEAT_STRIDE * i for i in (1, 2, 3)] and len(reps) == 3
    assert reps.of("x", 0.5) == pytest.approx([0.5, 0.1, 0.2, 0.3])
    assert reps.pooled("y", [True, True]) == (3, 11)
    # a repeat with no cases counts as a failed build of as many runs as this one
    assert reps.pooled("z", [True, True]) == (6, 8)
    assert claims.decisive(claims.fraction("w", "s", "p", passed=[True] * 4)) == (0, 4)

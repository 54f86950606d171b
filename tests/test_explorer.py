"""The warmup-model explorer of chapter 1 (``catapult.explorer``, its script ``catapult/static/warmup-explorer.js``).

The cell's output, the same on the site, in Colab and in Jupyter, iterates eqs. 6-7 in JavaScript (float64, the arithmetic order of
``catapult.warmup.exact_step``); here the same settings run through ``catapult.warmup`` in
float64 (``warmup.explorer_reference``), and headless Chromium drives the page's sliders to
each setting and reads back what the page computed: the trajectories and the numbers it shows.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from catapult import explorer as widget
from catapult import warmup
from catapult.book import explorer
from catapult.book.site_check import CHROMIUM_FLAGS, find_chromium

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "catapult" / "static" / "warmup-explorer.js"
CHAPTER = ROOT / "book" / "01_warmup_model.ipynb"
STEPS = 500
RTOL = 1e-9
# f decays towards 0 (below 1e-280 in 500 steps for some runs); XLA may flush subnormals to zero.
ATOL = 1e-300

SETTINGS = list(explorer.SETTINGS)  # (c = ηλ0, width n, f0) spanning the three phases; λ0 = 1 as on the page
EXPECTED = ["lazy", "lazy", "lazy", "catapult", "catapult", "catapult", "catapult", "catapult", "divergent", "divergent"]


@pytest.fixture(scope="module")
def reference():
    return warmup.explorer_reference(SETTINGS, steps=STEPS)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * abs(b) + ATOL


def rel_dev(a: float, b: float) -> float:
    return 0.0 if abs(a - b) <= ATOL else abs(a - b) / abs(b)


# ------------------------------------------------------------------ (a) the Python reference


def test_reference_spans_the_three_phases(reference):
    assert [r["phase"] for r in reference] == EXPECTED
    for r, (c, n, f0) in zip(reference, SETTINGS):
        assert (r["c"], r["n"], r["f0"], r["eta"], r["lam0"]) == (c, n, f0, c, 1.0)
        assert len(r["f"]) == len(r["lam"]) == STEPS + 1
        if r["phase"] == "divergent":
            assert r["diverged_at"] > 0 and r["steps_to_converge"] == -1
            assert math.isnan(r["f"][-1]) and math.isfinite(r["f"][r["diverged_at"] - 1])
        else:
            assert r["diverged_at"] == -1 and 0 < r["steps_to_converge"] < STEPS
            assert abs(r["f"][-1]) < 1e-3
        if r["phase"] == "catapult":  # the catapult ends with the curvature below 2/η
            assert r["eta"] * r["lam"][-1] < warmup.C_CRIT
            assert r["peak_loss"] > r["f0"] ** 2 / 2
    lazy = reference[0]  # λ moves by O(1/n) in the lazy phase
    assert abs(lazy["lam"][-1] - 1.0) < 10 / lazy["n"]
    narrow, wide = reference[4], reference[5]  # the catapult: peak ∝ n, and longer at larger width
    assert wide["peak_loss"] > 100 * narrow["peak_loss"]
    assert wide["steps_to_converge"] > narrow["steps_to_converge"]


def test_reference_is_the_float64_exact_step(reference):
    """explorer_reference iterates exact_step in float64: replay one run step by step in numpy."""
    r = reference[4]
    f, lam = np.float64(r["f0"]), np.float64(1.0)
    for t in range(1, 30):
        f, lam = warmup.exact_step(f, lam, np.float64(r["eta"]), np.float64(r["n"]))
        assert close(float(f), r["f"][t]) and close(float(lam), r["lam"][t])


# ------------------------------------------------------------------ (b) the page, in Chromium

def chromium_or_skip() -> str:
    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no chromium was found (CATAPULT_CHROMIUM, chromium, chromium-browser, google-chrome)")
        pytest.skip("no headless Chromium found (chromium, chromium-browser, google-chrome, or CATAPULT_CHROMIUM)")
    return browser


def dump_dom(browser: str, page: Path, budget_ms: int = 10000) -> str:
    with tempfile.TemporaryDirectory(prefix="catapult-explorer-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={budget_ms}",
             "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=180,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def output_page(body: str) -> str:
    """A bare document around a cell's HTML output, as Colab's output frame shows it."""
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"


def page_results(browser: str, tmp_path: Path) -> list[dict]:
    """Drive the chapter cell's output (``catapult.explorer.warmup``) to every setting."""
    page = tmp_path / "explorer.html"
    page.write_text(output_page(widget.warmup(2.5, 1000, 1.0, STEPS)._repr_html_() + explorer.driver(SETTINGS)),
                    encoding="utf-8")
    dom = dump_dom(browser, page)
    results = explorer.results_from_dom(dom)
    assert results is not None, f"the driver wrote no results; page:\n{dom[:3000]}"
    assert not (isinstance(results, dict) and "error" in results), results
    return results


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    return page_results(chromium_or_skip(), tmp_path_factory.mktemp("explorer"))


@pytest.mark.browser
def test_page_matches_catapult_warmup(page, reference):
    assert len(page) == len(SETTINGS)
    worst = 0.0
    for got, ref, setting in zip(page, reference, SETTINGS):
        shown = got["shown"]
        assert (float(shown["c"]), float(shown["n"]), float(shown["f0"])) == setting, "the sliders did not land on the setting"
        assert shown["phase"] == got["data_phase"] == ref["phase"], setting
        # the trajectory, every step up to the end (or the divergence) of the run
        last = ref["diverged_at"] if ref["diverged_at"] >= 0 else STEPS + 1
        assert len(got["f"]) == len(got["lam"]) == last, setting
        for key in ("f", "lam"):
            for t in range(last):
                a, b = float(got[key][t]), ref[key][t]
                assert close(a, b), f"{key}_{t} at {setting}: page {a!r}, catapult.warmup {b!r}"
                worst = max(worst, rel_dev(a, b))
        # the numbers the page shows
        f_last, lam_last = ref["f"][last - 1], ref["lam"][last - 1]
        for key, value in (("final_f", f_last), ("final_lam", lam_last), ("final_eta_lam", ref["eta"] * lam_last),
                           ("lam_shift", lam_last - 1.0), ("peak_loss", ref["peak_loss"])):
            assert close(float(shown[key]), value), f"{key} at {setting}: page {shown[key]}, reference {value!r}"
            worst = max(worst, rel_dev(float(shown[key]), value))
        assert int(shown["steps_to_converge"]) == ref["steps_to_converge"]
        assert int(shown["diverged_at"]) == ref["diverged_at"]
        assert got["polylines"] == 2 and got["ticks"] > 10, "the two plots were not drawn"
    print(f"largest relative deviation, page vs catapult.warmup: {worst:.2e}")


def replay(c: float, n: float, f0: float) -> tuple[list[float], list[float]]:
    """eqs. 6-7 with Python floats, in exact_step's order of operations (IEEE float64, no FMA)."""
    f, lam, eta, fs, lams = f0, 1.0, c / 1.0, [f0], [1.0]
    for _ in range(STEPS):
        f, lam = (1.0 - eta * lam + eta**2 * f**2 / n) * f, lam + (eta * f**2 / n) * (eta * lam - 4.0)
        if not (math.isfinite(f) and math.isfinite(lam) and math.isfinite(f * f)):
            break
        fs.append(f)
        lams.append(lam)
    return fs, lams


@pytest.mark.browser
def test_page_is_bitwise_the_same_arithmetic(page):
    """Against the same expressions in plain float64 the page agrees to the last bit: any difference
    from catapult.warmup (jitted XLA, which may fuse multiply-adds) is rounding, not a different formula."""
    for got, setting in zip(page, SETTINGS):
        fs, lams = replay(*setting)
        assert [float(x) for x in got["f"]] == fs and [float(x) for x in got["lam"]] == lams, setting


# ------------------------------------------------------------------ the chapter and the built page


def test_chapter_shows_the_explorer_from_one_visible_cell():
    """The explorer is a cell's output, not markup: Colab shows no script a markdown cell carries."""
    nb = json.loads(CHAPTER.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "explorer.warmup(" in "".join(c["source"])]
    assert len(cells) == 1 and cells[0]["cell_type"] == "code"
    assert not set(cells[0]["metadata"].get("tags", [])) & {"remove-cell", "remove-input", "hide-input"}
    assert not any("warmup-explorer" in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_the_output_carries_container_script_and_style():
    shown = widget.warmup(c=3.1, n=20000, f0=-0.5, steps=300)
    out = shown._repr_html_()
    assert '<div class="warmup-explorer" data-c="3.1" data-n="20000" data-f0="-0.5" data-steps="300"></div>' in out
    assert out.index('class="warmup-explorer"') < out.index("<script>"), "the script sets up containers already there"
    assert widget.script() in out and ".warmup-explorer {" in out and "</script>" not in widget.script()
    assert "needs a browser" in repr(shown)


@pytest.mark.parametrize("bad", [dict(c=0.0), dict(c=5.0), dict(c=float("nan")), dict(n=5), dict(n=10**7),
                                 dict(n=1000.5), dict(f0=0.0), dict(f0=4.0), dict(steps=0), dict(steps=True)])
def test_bad_settings_fail_with_the_sliders_range(bad):
    with pytest.raises(ValueError, match="must"):
        widget.warmup(**bad)


@pytest.mark.browser
def test_explorer_script_does_nothing_without_a_container(tmp_path):
    browser = chromium_or_skip()
    page = tmp_path / "plain.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><script src='{SCRIPT.resolve().as_uri()}'></script></head>"
        "<body><p id='x'>text</p></body></html>",
        encoding="utf-8",
    )
    dom = dump_dom(browser, page, 2000)
    body = dom[dom.index("<body>"):]
    assert body.startswith('<body><p id="x">text</p></body>'), body


@pytest.mark.browser
def test_built_chapter_page_renders_the_explorer():
    """Optional: the built chapter-1 page (CATAPULT_SITE, default _build/html) shows the explorer."""
    html_dir = Path(os.environ.get("CATAPULT_SITE", ROOT / "_build" / "html"))
    built = next(iter(html_dir.rglob("01_warmup_model.html")), None) if html_dir.is_dir() else None
    if built is None or 'class="warmup-explorer"' not in built.read_text(encoding="utf-8"):
        pytest.skip(f"no built chapter-1 page with the explorer under {html_dir} (build the site first)")
    dom = dump_dom(chromium_or_skip(), built, 15000)
    root = re.search(r'<div class="warmup-explorer"[^>]*data-ready="true"[^>]*>', dom)
    assert root, "the explorer's container was not rendered"
    assert dom.count('class="warmup-explorer-plot"') == 2 and "<polyline" in dom
    assert re.search(r'data-key="phase" data-value="catapult"', dom)


def test_results_are_read_whatever_attributes_the_page_adds():
    dom = '<body><pre id="explorer-results" tabindex="0">[{&quot;a&quot;: 1}]</pre></body>'
    assert explorer.results_from_dom(dom) == [{"a": 1}]


@pytest.mark.browser
def test_the_site_check_drives_the_explorer_against_the_exported_runs(tmp_path):
    """The build exports catapult.warmup's runs (explorer.export_reference); the site check drives a
    page's explorer (the chapter cell's output, as the site and Colab show it) to every setting and
    compares (explorer.check_page). A page whose script computes something else is caught."""
    browser = chromium_or_skip()
    site = tmp_path / "html"
    explorer.export_reference(site)
    page = site / "chapter.html"
    text = output_page(widget.warmup(2.5, 1000, 1.0, STEPS)._repr_html_())
    page.write_text(text, encoding="utf-8")
    assert explorer.check_page(browser, site, page.relative_to(site), CHROMIUM_FLAGS) == []
    assert sorted(p.name for p in site.iterdir()) == ["_static", "chapter.html"], "the driven copy is removed"
    # a wrong recurrence (a sign flipped in the λ update) must fail the check
    line = "var lamNext = lam + (eta * f2 / n) * (eta * lam - 4.0);"  # the λ update of eq. 7
    wrong = text.replace(line, line.replace("4.0", "4.0001"))
    assert wrong != text, "could not plant a bug in the script"
    page.write_text(wrong, encoding="utf-8")
    problems = explorer.check_page(browser, site, page.relative_to(site), CHROMIUM_FLAGS)
    assert problems and any("catapult.warmup" in p for p in problems), problems

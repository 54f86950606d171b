"""Chapter 1's explorer (:mod:`catapult.explorer`, a cell's output), checked on the built site.

The explorer iterates the warmup model's exact dynamics (eqs. 6-7) in JavaScript, in float64,
with no kernel. The build exports the same runs computed by :mod:`catapult.warmup`
(:func:`export_reference`, next to the page as ``_static/warmup-explorer-reference.json``), and
the site check (:func:`check_page`) drives the built chapter-1 page's sliders in headless
Chromium to each setting and compares what the page computed with the export: every step of
f and λ to relative 1e-9, the numbers it shows, and the phase it names.
"""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
from pathlib import Path

from . import headless

__all__ = ["ATOL", "DRIVER", "REFERENCE", "RTOL", "SETTINGS", "STEPS", "check_page", "compare", "driver",
           "export_reference", "reference", "results_from_dom"]

#: (c = ηλ0, width n, f0) spanning the three phases, at more than one width; λ0 = 1 as on the page.
SETTINGS: tuple[tuple[float, int, float], ...] = (
    (0.5, 1000, 1.0),  # lazy
    (1.9, 1000, 1.0),  # lazy, just below η_crit
    (1.5, 10, -1.0),  # lazy, narrow: λ moves visibly
    (2.1, 1000, 1.0),  # catapult, just above η_crit
    (2.5, 1000, 1.0),  # catapult
    (2.5, 1_000_000, 1.0),  # catapult, wide: a higher peak and a longer catapult
    (3.5, 100, -2.0),  # catapult, narrow, negative f0
    (3.9, 1000, 1.0),  # catapult, just below η_max
    (4.2, 1000, 1.0),  # divergent
    (4.5, 100_000, 0.5),  # divergent, wide
)
STEPS = 500  # the page's run length (its container's data-steps)
RTOL = 1e-9
ATOL = 1e-300  # f decays below 1e-280 in 500 steps for some runs; XLA may flush subnormals to zero
#: Where the build writes the reference, relative to the site's root.
REFERENCE = "_static/warmup-explorer-reference.json"

#: Injected into a copy of the page: sets the sliders to each setting, reads back the run and the
#: numbers shown, and writes them as JSON into ``<pre id="explorer-results">``.
DRIVER = """<script>
window.addEventListener("load", function () {
  var SETTINGS = __SETTINGS__, root = document.querySelector("div.warmup-explorer"), out = [];
  function set(name, value) {
    var input = root.querySelector('input[name="' + name + '"]');
    input.value = String(value);
    input.dispatchEvent(new Event("input", {bubbles: true}));
    input.dispatchEvent(new Event("change", {bubbles: true}));
  }
  try {
    SETTINGS.forEach(function (s) {
      set("c", s[0]);
      set("log10n", Math.log10(s[1]));
      set("f0", s[2]);
      var shown = {};
      root.querySelectorAll("[data-key]").forEach(function (d) {
        shown[d.getAttribute("data-key")] = d.getAttribute("data-value");
      });
      var run = root.warmupExplorerRun;
      out.push({shown: shown, f: run.f, lam: run.lam, data_phase: root.getAttribute("data-phase"),
                polylines: root.querySelectorAll("svg polyline").length,
                ticks: root.querySelectorAll("svg text").length});
    });
  } catch (e) {
    out = {error: String(e && e.stack || e)};
  }
  var pre = document.createElement("pre");
  pre.id = "explorer-results";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def driver(settings=SETTINGS) -> str:
    """The driver script for ``settings``."""
    return DRIVER.replace("__SETTINGS__", json.dumps([list(s) for s in settings]))


def reference(settings=SETTINGS, steps: int = STEPS) -> list[dict]:
    """The runs of ``settings`` computed by :func:`catapult.warmup.explorer_reference` (float64)."""
    from .. import warmup

    return warmup.explorer_reference([tuple(s) for s in settings], steps=steps)


def export_reference(html_root: Path) -> Path:
    """Write the reference runs next to the site's pages (non-finite values as null)."""
    def plain(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, list):
            return [plain(v) for v in x]
        if isinstance(x, dict):
            return {k: plain(v) for k, v in x.items()}
        return x

    path = Path(html_root) / REFERENCE
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"settings": [list(s) for s in SETTINGS], "steps": STEPS, "runs": plain(reference())}
    path.write_text(json.dumps(data, allow_nan=False) + "\n", encoding="utf-8")
    return path


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= RTOL * abs(b) + ATOL


def _dev(a: float, b: float) -> float:
    return 0.0 if abs(a - b) <= ATOL else abs(a - b) / abs(b)


def compare(page: list[dict], ref: list[dict], settings=SETTINGS, steps: int = STEPS) -> tuple[list[str], float]:
    """Problems found comparing the page's runs with the reference, and the largest relative deviation."""
    if isinstance(page, dict) and "error" in page:
        return [f"the explorer raised in the page: {page['error'][:300]}"], math.nan
    if len(page) != len(settings):
        return [f"the page returned {len(page)} runs for {len(settings)} settings"], math.nan
    problems, worst = [], 0.0
    for got, r, setting in zip(page, ref, settings):
        shown = got["shown"]
        where = f"explorer at (ηλ0, n, f0) = {tuple(setting)}"
        if (float(shown["c"]), float(shown["n"]), float(shown["f0"])) != tuple(float(v) for v in setting):
            problems.append(f"{where}: the sliders did not land on the setting ({shown['c']}, {shown['n']}, {shown['f0']})")
            continue
        if not (shown["phase"] == got["data_phase"] == r["phase"]):
            problems.append(f"{where}: phase {shown['phase']!r} on the page, {r['phase']!r} in catapult.warmup")
        last = r["diverged_at"] if r["diverged_at"] >= 0 else steps + 1
        if len(got["f"]) != last or len(got["lam"]) != last:
            problems.append(f"{where}: the page ran {len(got['f'])} steps, catapult.warmup {last}")
            continue
        for key in ("f", "lam"):
            bad = [t for t in range(last) if not _close(float(got[key][t]), r[key][t])]
            if bad:
                t = bad[0]
                problems.append(f"{where}: {key} at step {t} is {got[key][t]!r} on the page, {r[key][t]!r} in catapult.warmup")
            worst = max([worst] + [_dev(float(got[key][t]), r[key][t]) for t in range(last)])
        f_last, lam_last = r["f"][last - 1], r["lam"][last - 1]
        for key, value in (("final_f", f_last), ("final_lam", lam_last), ("final_eta_lam", r["eta"] * lam_last),
                           ("lam_shift", lam_last - 1.0), ("peak_loss", r["peak_loss"])):
            if not _close(float(shown[key]), value):
                problems.append(f"{where}: shows {key} = {shown[key]}, catapult.warmup gives {value!r}")
            worst = max(worst, _dev(float(shown[key]), value))
        for key in ("steps_to_converge", "diverged_at"):
            if int(shown[key]) != r[key]:
                problems.append(f"{where}: shows {key} = {shown[key]}, catapult.warmup gives {r[key]}")
        if got["polylines"] != 2 or got["ticks"] <= 10:
            problems.append(f"{where}: the two plots were not drawn")
    return problems, worst


def results_from_dom(dom: str) -> list[dict] | dict | None:
    """What the driver wrote into the page (None if it wrote nothing)."""
    # the page's own scripts may add attributes to the <pre> (the theme gives every <pre> a tabindex)
    found = re.search(r'<pre id="explorer-results"[^>]*>(.*?)</pre>', dom, re.S)
    return json.loads(html.unescape(found.group(1))) if found else None


def check_page(browser: str, site_root: Path, rel: Path, flags: tuple[str, ...], budget_ms: int = 20000) -> list[str]:
    """Drive the explorer of the page ``rel`` of a built site at ``site_root`` (a copy the check
    may write into: the driven page is written beside the original, so its relative links work)
    to every setting and compare with the exported reference; returns the problems found."""
    site_root = Path(site_root)
    ref_path = site_root / REFERENCE
    if not ref_path.exists():
        return [f"no {REFERENCE}: the build exports catapult.warmup's runs for the explorer's check"]
    data = json.loads(ref_path.read_text(encoding="utf-8"))
    runs = [{k: ([math.nan if v is None else v for v in val] if isinstance(val, list) else val) for k, val in r.items()}
            for r in data["runs"]]
    page = site_root / rel
    driven = page.with_name(f"explorer-check-{page.name}")
    text = page.read_text(encoding="utf-8", errors="replace")
    driven.write_text(text.replace("</body>", driver(data["settings"]) + "</body>", 1), encoding="utf-8")
    try:
        proc = headless.run(browser, flags, [f"--virtual-time-budget={budget_ms}", "--dump-dom", driven.resolve().as_uri()],
                            timeout=300)
    except subprocess.TimeoutExpired:
        return ["the explorer check timed out in the browser, three times"]
    finally:
        driven.unlink(missing_ok=True)
    results = results_from_dom(proc.stdout)
    if results is None:
        return [f"the explorer check got no results from the page (chromium exit {proc.returncode})"]
    problems, _ = compare(results, runs, data["settings"], data["steps"])
    return problems

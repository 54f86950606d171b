"""Claims: the paper's predictions, checked against what a chapter just measured.

A chapter builds a list of :class:`Claim` records, each naming the prediction, where
the paper makes it, the value predicted, the value measured and the tolerance, and
calls :func:`report` at its end. ``report`` shows the reader a table and embeds the
claims, machine-readable, in that output's metadata (under the key :data:`MIME`), where
the build (``python -m catapult build``) reads them to fail on a claim that does not hold
and to write ``_build/claims/<chapter>.json``; beside them, under :data:`DATA_MIME`, the data
sets the chapter read (:func:`catapult.data.sources`), which the build records with the claims
and in the page's provenance box. :func:`glue` puts measured numbers into the prose, so the
text never quotes a number typed by hand.

A verdict states its own robustness. A statistical claim (:func:`t_claim`) is a one-sided t test
over n independent seeds at p ≤ 0.01; its record carries n, the test, the control in the same
build that fails it, and ``chance``: the chance that a rebuild at other seeds (or on another CPU,
whose rounding is another draw) fails it, estimated from the build's own per-seed values
(:func:`catapult.stats.rebuild_failure`). A scale claims a prediction only where a pilot at other
seeds put that chance at or below :data:`CLAIM_CHANCE`; the other predictions are still measured
and shown, with the status :func:`status` gives them ("unresolved at this scale", or "contradicts
the paper at this scale" where the opposite test is significant), and never fail the build.
"""

from __future__ import annotations

import ast
import dataclasses
import html
import json
import math
import numbers
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

__all__ = [
    "MIME",
    "DATA_MIME",
    "KEYS",
    "Claim",
    "within",
    "within_relative",
    "at_most",
    "at_least",
    "fraction",
    "t_claim",
    "se_claim",
    "estimated",
    "REPEAT_STRIDE",
    "decisive",
    "Repeats",
    "NO_REPEATS",
    "repeat",
    "status",
    "CLAIM_CHANCE",
    "NEARLY_ALL",
    "BOOK_CHANCE",
    "to_json",
    "save",
    "load",
    "from_notebook",
    "data_from_notebook",
    "failures",
    "table_html",
    "table_text",
    "glue",
    "glue_all",
    "report",
]


#: The output-metadata key under which ``report`` embeds claims (metadata is never rendered).
MIME = "application/vnd.catapult.claims+json"
KEYS = ("id", "statement", "source", "predicted", "measured", "tolerance", "holds")
#: Optional keys of a claim record (older records lack them).
OPTIONAL_KEYS = ("n", "chance", "control", "test", "claimed", "contradicts", "reason")
#: A scale claims a prediction only where its pilot's chance to fail at another seed is at most this.
CLAIM_CHANCE = 1e-3
#: A claim over many runs asks that at least this share of them pass: no finite sample can show that
#: every run of a rebuild will (:func:`catapult.stats.count_failure`).
NEARLY_ALL = 0.9
#: The book's total (the sum of its claims' chances) stays at most this: fewer than 1 in 20 fresh
#: machines fail the build.
BOOK_CHANCE = 0.05
#: The output-metadata key under which ``report`` embeds the data sets the chapter read.
DATA_MIME = "application/vnd.catapult.data+json"


def _plain(x: Any) -> Any:
    """Convert numpy scalars/arrays to JSON-friendly Python values (NaN/inf become strings)."""
    if isinstance(x, (np.generic, np.ndarray)):
        x = x.tolist()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


@dataclass(frozen=True)
class Claim:
    """One checked prediction. ``predicted``, ``measured`` and ``tolerance`` are numbers or short text."""

    id: str
    statement: str
    source: str
    predicted: Any
    measured: Any
    tolerance: Any
    holds: bool
    n: int | None = None  # independent seeds behind the measured value (None: not a statistic over seeds)
    chance: float | None = None  # estimated chance that a rebuild at other seeds fails it (None: not estimated)
    control: str = ""  # the control, in the same build, that fails it
    test: str = ""  # the test and its result, e.g. "one-sided t, n = 8: t = 9.1, p = 2e-5"
    claimed: bool = True  # False: measured at this scale, shown, not claimed (it cannot fail the build)
    contradicts: bool = False  # the measurement contradicts the prediction significantly
    reason: str = ""  # why this scale does not claim it (from the scale's settings; empty when claimed)

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"a claim id must be non-empty letters, digits, '_' or '-', got {self.id!r}.")
        for key in ("holds", "claimed", "contradicts"):
            object.__setattr__(self, key, bool(getattr(self, key)))
        for key in ("predicted", "measured", "tolerance"):
            object.__setattr__(self, key, _plain(getattr(self, key)))
        if self.n is not None:
            object.__setattr__(self, "n", int(self.n))
        if self.chance is not None:
            chance = float(self.chance)
            if not 0.0 <= chance <= 1.0:
                raise ValueError(f"claim {self.id}: a chance lies in [0, 1], got {chance}.")
            object.__setattr__(self, "chance", chance)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Claim":
        missing = [k for k in KEYS if k not in d]
        if missing:
            raise ValueError(f"a claim record lacks the keys {missing}: {d!r}")
        return cls(**{k: d[k] for k in KEYS + OPTIONAL_KEYS if k in d})


def status(c: Claim) -> str:
    """What a claim's row says: "holds" or "fails" for a claimed prediction; for one measured but
    not claimed at this scale, "holds (not claimed at this scale)", "contradicts the paper at this
    scale" (the opposite is significant) or "unresolved at this scale"."""
    if c.claimed:
        return "holds" if c.holds else "fails"
    if c.holds:
        return "holds (not claimed at this scale)"
    return "contradicts the paper at this scale" if c.contradicts else "unresolved at this scale"


def _finite(x: Any) -> bool:
    return isinstance(x, numbers.Real) and math.isfinite(float(x))


def _spread(id: str, values: Any, lo: float | None, hi: float | None, draws: int, over: str,
            statistic: str = "each", log: bool = False) -> dict[str, Any]:
    """The robustness fields of a claim decided by a value lying in [lo, hi]. ``statistic="each"``:
    ``values`` are that value in independent repeats (``over`` names them: "builds", this build's
    first, or "inits", of which a rebuild draws ``draws`` anew, every one of which must lie inside),
    and the chance is :func:`catapult.stats.draw_failure`. ``statistic="mean"``: the claim's value
    is the mean of ``values`` (independent draws), and the chance is that a rebuild's mean over as
    many draws leaves [lo, hi] (:func:`catapult.stats.rebuild_failure` on each side). With ``log``
    the fit is to log10 of the values (and of the bounds): for positive values spread over decades."""
    from . import stats

    v = np.asarray(values, dtype=float).ravel()
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log10(v)
        lo, hi = (None if b is None else math.log10(b) for b in (lo, hi))
        over = f"{over} (log10)"
    if v.size < 2:
        raise ValueError(f"claim {id}: a chance needs the value in at least two independent repeats, got {v.size}.")
    finite = v[np.isfinite(v)]
    mean, sd = (float(finite.mean()), float(finite.std(ddof=1))) if finite.size > 1 else (math.nan, math.nan)
    if statistic == "mean":
        se = sd / math.sqrt(finite.size)
        chance = 1.0 if finite.size < v.size or not se > 0 else min(1.0, sum(
            stats.rebuild_failure(sign * (mean - b) / se, int(v.size), crit=0.0)
            for b, sign in ((lo, 1.0), (hi, -1.0)) if b is not None))
        return dict(n=int(v.size), chance=chance,
                    test=f"mean of {v.size} {over}: {_fmt(mean)} ± {_fmt(se)} (SE); a rebuild's mean leaves the range "
                         "(noncentral t)")
    if statistic != "each":
        raise ValueError(f"statistic must be 'each' or 'mean', got {statistic!r}.")
    chance = stats.draw_failure(v, lo, hi, draws=draws)
    spread = f"mean {_fmt(mean)}, sd {_fmt(sd)}" if finite.size > 1 else "no spread"
    every = "" if draws == 1 else f"; a rebuild draws {draws}, each must hold"
    return dict(n=int(v.size), chance=chance, test=f"over {v.size} {over}: {spread} (normal fit{every})")


def estimated(c: Claim, *, chance: float, n: int, test: str) -> Claim:
    """``c`` with its chance to fail at another seed estimated by the caller (``n``: the independent
    draws behind it; ``test``: how, in words), where no builder here fits the claim's statistic."""
    return dataclasses.replace(c, chance=float(min(max(chance, 0.0), 1.0)), n=int(n), test=test)


def within(id: str, statement: str, source: str, *, predicted: float, measured: float, tolerance: float,
           replicates: Any = None, draws: int = 1, over: str = "builds", control: str = "",
           statistic: str = "each") -> Claim:
    """Holds when |measured − predicted| ≤ tolerance (absolute). NaN never holds.

    A relative slack of 1e-9 on the tolerance keeps float rounding from deciding a tie
    (e.g. a boundary measured exactly one grid step from the prediction). With ``replicates``
    (the measured value in independent repeats, see :func:`_spread`) the record carries its
    chance to fail at another seed.
    """
    measured = float(measured)
    slack = tolerance * (1 + 1e-9)
    ok = _finite(measured) and abs(measured - predicted) <= slack
    extra = {} if replicates is None else _spread(id, replicates, predicted - slack, predicted + slack, draws, over,
                                                  statistic)
    return Claim(id, statement, source, float(predicted), measured, f"± {tolerance:g}", ok, control=control, **extra)


def within_relative(id: str, statement: str, source: str, *, predicted: float, measured: float, rtol: float,
                    replicates: Any = None, over: str = "builds", control: str = "", statistic: str = "each") -> Claim:
    """Holds when |measured − predicted| ≤ rtol·|predicted| (``replicates``: as :func:`within`)."""
    measured = float(measured)
    tol = rtol * abs(predicted)
    ok = _finite(measured) and abs(measured - predicted) <= tol
    extra = {} if replicates is None else _spread(id, replicates, predicted - tol, predicted + tol, 1, over, statistic)
    return Claim(id, statement, source, float(predicted), measured, f"± {100 * rtol:g}%", ok, control=control, **extra)


def at_most(id: str, statement: str, source: str, *, bound: float, measured: float, predicted: Any = None,
            control: str = "", replicates: Any = None, draws: int = 1, over: str = "builds",
            log: bool = False, statistic: str = "each") -> Claim:
    """Holds when measured ≤ bound (NaN never holds; ``replicates``, ``statistic``: as :func:`within`,
    fitted in log10 with ``log``)."""
    measured = float(measured)
    pred = f"≤ {bound:g}" if predicted is None else predicted
    extra = {} if replicates is None else _spread(id, replicates, None, bound, draws, over, statistic, log=log)
    return Claim(id, statement, source, pred, measured, f"≤ {bound:g}", _finite(measured) and measured <= bound,
                 control=control, **extra)


def at_least(id: str, statement: str, source: str, *, bound: float, measured: float, predicted: Any = None,
             control: str = "", replicates: Any = None, draws: int = 1, over: str = "builds",
             log: bool = False, statistic: str = "each") -> Claim:
    """Holds when measured ≥ bound (NaN never holds; ``replicates``, ``statistic``: as :func:`within`,
    fitted in log10 with ``log``)."""
    measured = float(measured)
    pred = f"≥ {bound:g}" if predicted is None else predicted
    extra = {} if replicates is None else _spread(id, replicates, bound, None, draws, over, statistic, log=log)
    return Claim(id, statement, source, pred, measured, f"≥ {bound:g}", _finite(measured) and measured >= bound,
                 control=control, **extra)


def fraction(id: str, statement: str, source: str, *, passed: Iterable[bool], required: float = 1.0,
             control: str = "", pooled: tuple[int, int] | None = None, cases: str = "runs") -> Claim:
    """Holds when at least ``required`` of the cases passed; measured is the fraction that did.

    ``pooled``: (failed, run) over this build's cases and those of independent repeats of it; the
    record then carries the chance that a rebuild has more failures than ``required`` allows
    (:func:`catapult.stats.count_failure`; with ``required = 1`` it cannot be small). ``cases``
    names the cases in the record's test (e.g. "hidden units")."""
    from . import stats

    passed = np.asarray(list(passed) if not isinstance(passed, np.ndarray) else passed, dtype=bool).ravel()
    if passed.size == 0:
        return Claim(id, statement, source, f"{required:.0%} of cases", "no cases", "", False, control=control)
    frac = float(passed.mean())
    label = f"{int(passed.sum())}/{passed.size}"
    extra: dict[str, Any] = {}
    if pooled is not None:
        failed, runs = (int(x) for x in pooled)
        allowed = int(math.floor((1.0 - required) * passed.size + 1e-9))
        extra = dict(n=runs, chance=stats.count_failure(failed, runs, passed.size, allowed),
                     test=f"{failed:,} of {runs:,} {cases} failed over this build and its repeats; a rebuild may "
                          f"fail {allowed} of {passed.size:,} (binomial, failure rate at its 90 % upper bound)")
    return Claim(id, statement, source, f"{required:.0%} of cases", label, f"≥ {required:.0%}", frac >= required,
                 control=control, **extra)


def _required_control(id: str, control: Any) -> str:
    """A statistical claim's control, in words; refuses a claim without one."""
    if not control or not str(control).strip():
        raise ValueError(f"claim {id}: name the control in the same build that fails it (control=...).")
    return str(control)


def t_claim(id: str, statement: str, source: str, *, values: Any, bound: float = 0.0, side: str = "greater",
            control: str, predicted: Any = None, alpha: float = 0.01) -> Claim:
    """A statistical claim: the mean of ``values`` (one per independent seed, data and
    initialization both drawn per seed) lies above ``bound`` (``side="greater"``) or below it
    (``"less"``), by a one-sided t test at p ≤ ``alpha``. Records n, the test, ``control`` (the
    run in the same build that fails it, in words) and the chance that the test fails at a
    rebuild with other seeds (:func:`catapult.stats.rebuild_failure`). Where the opposite one-sided
    test is significant at ``alpha`` the record says the measurement contradicts the prediction."""
    from . import stats

    control = _required_control(id, control)
    tt = stats.t_test(values, bound, side)
    rel = ">" if side == "greater" else "<"
    holds = math.isfinite(tt.p) and tt.p <= alpha
    contradicts = math.isfinite(tt.p_opposite) and tt.p_opposite <= alpha
    test = (f"one-sided t, n = {tt.n}: mean {_fmt(tt.mean)} ± {_fmt(tt.se)} (SE), t = {tt.t:.2f}, p = {tt.p:.2g}"
            if math.isfinite(tt.t) else f"no t test: {tt.n} finite values" + ("" if tt.n < 2 else " with no spread"))
    return Claim(id, statement, source, f"mean {rel} {bound:g}" if predicted is None else predicted, tt.mean,
                 f"mean {rel} {bound:g} at p ≤ {alpha:g}", holds, n=tt.n, chance=stats.rebuild_failure(tt.t, tt.n, alpha),
                 control=control, test=test, contradicts=contradicts)


def se_claim(id: str, statement: str, source: str, *, z: float, n: int | None, control: str, alpha: float = 0.01,
             bound: float = 2.0, predicted: Any = None, mean: float | None = None, se: float | None = None) -> Claim:
    """A difference over ``n`` independent seeds, given as ``z``, its mean over its standard
    error (the one-sample t statistic), that is positive by a one-sided t test at p ≤ ``alpha``
    (``z`` ≥ t_(1−alpha) with n − 1 degrees of freedom: 2.72 at n = 12, 3.00 at n = 8). The
    record gives the test, ``chance``, the chance that a rebuild with other seeds fails the same
    test (:func:`catapult.stats.rebuild_failure`), and says the measurement contradicts the
    prediction where the opposite one-sided test is significant at ``alpha``. ``mean`` and ``se``, the
    difference and its standard error over seeds, are shown in the test where given. Without ``n``
    (records built by hand in tests) it is :func:`at_least` ``bound`` standard errors."""
    from scipy import stats as sps

    from . import stats

    control = _required_control(id, control)
    if n is None:
        c = at_least(id, statement, source, bound=bound, measured=z,
                     predicted=f"> {bound:g}" if predicted is None else predicted, control=control)
        return dataclasses.replace(c, tolerance=f"≥ {bound:g} SE")
    n = int(n)
    z = float(z)
    predicted = f"> 0 at p ≤ {alpha:g}" if predicted is None else predicted
    if n < 2 or not math.isfinite(z):
        return Claim(id, statement, source, predicted, z, f"t test at p ≤ {alpha:g}", False, n=n, chance=1.0,
                     control=control, test=f"no t test: n = {n}, t = {z:g}")
    crit = float(sps.t.ppf(1 - alpha, n - 1))
    p = float(sps.t.sf(z, n - 1))
    spread = f"mean {_fmt(mean)} ± {_fmt(se)} (SE), " if mean is not None and se is not None else ""
    test = f"one-sided t over n = {n} seeds: {spread}t = {z:.2f}, p = {p:.2g}"
    contradicts = float(sps.t.cdf(z, n - 1)) <= alpha  # the opposite side, at the same level
    return Claim(id, statement, source, predicted, z, f"t ≥ {crit:.2f} (p ≤ {alpha:g}, n = {n})", z >= crit, n=n,
                 chance=stats.rebuild_failure(z, n, alpha), control=control, test=test, contradicts=contradicts)


# ------------------------------------------------- repeats: a chapter's claims at other seeds

#: A chapter's repeats run at its settings' seeds shifted by i × this, i = 1 … n: far from the shift of any
#: build (``--seed K``), so a build's repeats are seeds no build runs.
REPEAT_STRIDE = 1_000_003


def decisive(c: Claim) -> Any:
    """What decides a claim, as a repeat records it: the measured value, or for a fraction
    (measured "k/n") the pair (failed, runs)."""
    if isinstance(c.measured, str) and "/" in c.measured:
        k, n = (int(x) for x in c.measured.split("/"))
        return (n - k, n)
    return float(c.measured) if _finite(c.measured) or isinstance(c.measured, numbers.Real) else math.nan


class Repeats:
    """Each claim's :func:`decisive` value in rebuilds of a chapter at other seeds (:func:`repeat`):
    what a chapter's claims function passes to the builders' ``replicates`` and ``pooled``."""

    def __init__(self, values: Iterable[Mapping[str, Any]] | None) -> None:
        self.values = None if values is None else [dict(v) for v in values]

    def __len__(self) -> int:
        return 0 if self.values is None else len(self.values)

    def of(self, id: str, own: float) -> list[float] | None:
        """This build's value ``own`` first, then the repeats' (None without repeats: no estimate)."""
        return None if self.values is None else [float(own)] + [float(v[id]) for v in self.values]

    def pooled(self, id: str, passed: Any) -> tuple[int, int] | None:
        """(failed, runs) over this build's cases ``passed`` and the repeats' of the same fraction claim
        (None without repeats). A repeat with no cases at all (the claim failed there) counts as as many
        runs as this build's, all failed."""
        if self.values is None:
            return None
        passed = np.asarray(passed, dtype=bool).ravel()
        failed, runs = int((~passed).sum()), int(passed.size)
        for v in self.values:
            f, r = v[id] if isinstance(v[id], tuple) else (passed.size, passed.size)
            failed, runs = failed + int(f), runs + int(r)
        return failed, runs


#: No repeats: the builders then attach no chance (e.g. inside a rebuild).
NO_REPEATS = Repeats(None)


def repeat(rebuild: Any, cfg: Any, n: int, decide: Mapping[str, Any] | None = None) -> Repeats:
    """Run ``rebuild(cfg.shift_seeds(REPEAT_STRIDE * i))`` for i = 1 … ``n``: the chapter's claims
    measured afresh at other seeds, and keep each claim's :func:`decisive` value (``decide``: per
    claim id, a function of the claim that replaces it, e.g. a margin where the measured value is a
    list)."""
    decide = dict(decide or {})
    out = []
    for i in range(1, int(n) + 1):
        out.append({c.id: decide.get(c.id, decisive)(c) for c in rebuild(cfg.shift_seeds(REPEAT_STRIDE * i))})
    return Repeats(out)


# ---------------------------------------------------------------- serialisation


def to_json(claims: Iterable[Claim], seed: int | None = None, data: list[dict] | None = None) -> str:
    """Strict JSON (no NaN literals); with ``seed``, every record also carries it (the offset the
    chapter's seeds were shifted by, ``python -m catapult build --seed K``); with ``data``, the data
    sets the chapter read (:func:`catapult.data.sources`; ``[]`` for none)."""
    extra = {} if seed is None else {"seed": int(seed)}
    if data is not None:
        extra["data"] = data
    return json.dumps([{**c.to_dict(), **extra} for c in claims], indent=2, ensure_ascii=False, allow_nan=False)


def save(claims: Iterable[Claim], path: str | Path, *, seed: int | None = None, data: list[dict] | None = None) -> Path:
    """Write the claims as a JSON list of objects with keys :data:`KEYS` (and ``seed`` and ``data``
    if given; atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(to_json(claims, seed, data) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load(path: str | Path) -> list[Claim]:
    return [Claim.from_dict(d) for d in json.loads(Path(path).read_text(encoding="utf-8"))]


def from_notebook(nb: Any) -> list[Claim]:
    """Every claim embedded by :func:`report` in an executed notebook (an nbformat node or dict)."""
    found: list[Claim] = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = out.get("metadata", {})
            if MIME in meta:
                payload = meta[MIME]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                found.extend(Claim.from_dict(d) for d in payload)
    return found


def data_from_notebook(nb: Any) -> list[dict] | None:
    """The data sets :func:`report` recorded in an executed notebook (None if it recorded none)."""
    for cell in nb["cells"]:
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            payload = out.get("metadata", {}).get(DATA_MIME)
            if payload is not None:
                return json.loads(payload) if isinstance(payload, str) else list(payload)
    return None


def failures(claims: Iterable[Claim]) -> list[Claim]:
    """The claimed predictions that do not hold (what fails the build)."""
    return [c for c in claims if c.claimed and not c.holds]


def _chance(x: float | None) -> str:
    """A failure chance as the table prints it: a percentage, "< 1e-6 %" far below, "–" where not estimated."""
    if x is None:
        return "–"
    if x < 1e-8:
        return "< 1e-6 %"
    if x >= 0.995:
        return "≈ 100 %" if x < 1.0 else "100 %"
    return f"{100 * x:.2g} %"


# --------------------------------------------------------------------- display


def _fmt(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, numbers.Integral):
        return f"{x:d}"
    if isinstance(x, numbers.Real):
        ax = abs(x)
        if ax != 0 and (ax < 1e-3 or ax >= 1e5):
            return f"{x:.3g}"
        return f"{x:.4g}"
    if isinstance(x, list):
        return ", ".join(_fmt(v) for v in x)
    return str(x)


_MARK_CLASS = {"holds": "claim-holds", "fails": "claim-fails"}


def _mark(c: Claim) -> str:
    st = status(c)
    sign = "✓ " if c.holds else ("✗ " if c.claimed else "")
    return f'<span class="{_MARK_CLASS.get(st, "claim-measured")}">{html.escape(sign + st)}</span>'


def _unclaimed_heading(claims: list[Claim], why: str) -> str:
    k = sum(not c.claimed for c in claims)
    return (f"Measured but not claimed at this scale ({k}){f': {why}' if why else ''}. "
            "They never fail the build; each shows its status and why this scale does not claim it.")


def table_html(claims: Iterable[Claim], why: str = "") -> str:
    """The claims as an HTML table, one row per claim: what is predicted and measured, the test,
    the chance to fail at another seed, the control and the status (claimed rows first). The
    predictions measured but not claimed follow under a heading row that gives ``why``."""
    claims = sorted(claims, key=lambda c: not c.claimed)
    rows = []
    for i, c in enumerate(claims):
        if not c.claimed and (i == 0 or claims[i - 1].claimed):
            rows.append(f'<tr class="catapult-unclaimed"><th colspan="8">{html.escape(_unclaimed_heading(claims, why))}'
                        "</th></tr>")
        statement = html.escape(c.statement) + (f"<br><small>control: {html.escape(c.control)}</small>" if c.control else "")
        measured = html.escape(_fmt(c.measured)) + (f"<br><small>{html.escape(c.test)}</small>" if c.test else "")
        cells = [html.escape(c.id), statement, html.escape(c.source), html.escape(_fmt(c.predicted)), measured,
                 html.escape(_fmt(c.tolerance)), html.escape(_chance(c.chance))]
        reason = f"<br><small>{html.escape(c.reason)}</small>" if c.reason and not c.claimed else ""
        rows.append("<tr>" + "".join(f"<td>{s}</td>" for s in cells) + f"<td>{_mark(c)}{reason}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("claim", "statement", "paper", "predicted", "measured", "tolerance",
                                              "fails at another seed", ""))
    return f'<table class="catapult-claims"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def table_text(claims: Iterable[Claim], why: str = "") -> str:
    lines = []
    claims = sorted(claims, key=lambda c: not c.claimed)
    for i, c in enumerate(claims):
        if not c.claimed and (i == 0 or claims[i - 1].claimed):
            lines.append(_unclaimed_heading(claims, why))
        st = status(c)
        lines.append(
            f"[{st.upper() if st == 'fails' else st}] {c.id}: {c.statement} ({c.source}); "
            f"predicted {_fmt(c.predicted)}, measured {_fmt(c.measured)}{f' ({c.test})' if c.test else ''}, "
            f"tolerance {_fmt(c.tolerance)}; chance to fail at another seed {_chance(c.chance)}"
            + (f"; control: {c.control}" if c.control else "")
            + (f"; not claimed: {c.reason}" if c.reason and not c.claimed else "")
        )
    return "\n".join(lines)


def _glue_text(text: str) -> str:
    """The text/plain form that myst-nb renders back as exactly ``text``. myst-nb passes glued
    plain text through ``ast.literal_eval`` ("1, 2" becomes the tuple (1, 2), "2,790,240" the
    tuple (2, 790, 240)); such text is glued as a quoted string literal instead."""
    try:
        unchanged = str(ast.literal_eval(text)) == text
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        unchanged = True  # myst-nb keeps text it cannot evaluate as it is
    return text if unchanged else repr(text)


class _Text:
    """A value whose text/plain form renders in glued prose as exactly ``text`` (see :func:`_glue_text`)."""

    def __init__(self, text: str) -> None:
        self.text = _glue_text(text)

    def __repr__(self) -> str:
        return self.text


def _myst_glue():
    """myst-nb's ``glue``, or None where myst-nb is not installed (Colab, a bare Jupyter)."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return None
    return myst_glue


def _glued_rows(texts: Mapping[str, str]) -> str:
    width = max(map(len, texts), default=0)
    return "\n".join(f"{name:<{width}} = {text}" for name, text in texts.items())


def glue(name: str, value: Any, fmt: str = "{:.3g}") -> None:
    """Glue ``value`` formatted with ``fmt`` under ``name`` for ``{glue:text}`name` `` in the prose.

    Returns nothing, so a cell ending in a glue call shows no output on the site. Without
    myst-nb (Colab, a bare Jupyter), where the text shows the published build's numbers, it
    prints ``name = value`` instead: this run's number, beside the one in the text.
    """
    glue_all({name: value}, fmt)


def glue_all(values: Any, fmt: str = "{:.3g}", **formats: str) -> None:
    """Glue every field of ``values`` (a mapping, a NamedTuple or a dataclass) under its own
    name, formatted with ``formats[name]`` if given, else ``fmt`` (strings as they are).

    One call replaces a run of :func:`glue` lines: a measurement function returns a record
    whose field names are the glue names the prose uses. Without myst-nb it prints the
    ``name = value`` rows (see :func:`glue`).
    """
    if hasattr(values, "_asdict"):
        values = values._asdict()
    elif dataclasses.is_dataclass(values) and not isinstance(values, type):
        values = {f.name: getattr(values, f.name) for f in dataclasses.fields(values)}
    if not isinstance(values, Mapping):
        raise TypeError(f"glue_all needs a mapping, NamedTuple or dataclass, got {type(values).__name__}.")
    unknown = sorted(set(formats) - set(values))
    if unknown:
        raise ValueError(f"formats for names that are not glued: {unknown}")
    texts = {name: value if isinstance(value, str) else formats.get(name, fmt).format(value)
             for name, value in values.items()}
    myst_glue = _myst_glue()
    if myst_glue is None:
        print(_glued_rows(texts), flush=True)
        return
    for name, text in texts.items():
        myst_glue(name, _Text(text), display=False)


def _reasons(not_claimed: Mapping[str, str] | Iterable[str | tuple[str, str]], why: str) -> dict[str, str]:
    """``not_claimed`` as {claim id: reason}: a mapping, (id, reason) pairs or bare ids (reason ``why``)."""
    items = not_claimed.items() if isinstance(not_claimed, Mapping) else not_claimed
    out = {}
    for item in items:
        key, reason = (item, why) if isinstance(item, str) else tuple(item)
        out[key] = reason or why
    return out


def report(claims: list[Claim], *, not_claimed: Mapping[str, str] | Iterable[str | tuple[str, str]] = (),
           why: str = "") -> list[Claim]:
    """Show the claims table and embed the claims for the build; returns the claimed ones.

    ``not_claimed``: the predictions this run measures but does not claim, with the reason why
    (a scale's ``not_claimed`` setting: (id, reason) pairs fixed beforehand by the pilot rule; bare
    ids take ``why``). They must exist, are shown below the claims in the table and on the
    results page with their status (:func:`status`) and reason, and never fail the build.
    """
    from IPython.display import display

    claims = list(claims)
    ids = [c.id for c in claims]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"claim ids must be unique within a chapter; repeated: {dupes}")
    reasons = _reasons(not_claimed, why)
    unknown = sorted(set(reasons) - set(ids))
    if unknown:
        raise ValueError(f"not_claimed names claims this chapter does not have: {unknown}")
    every = [dataclasses.replace(c, claimed=False, reason=reasons[c.id]) if c.id in reasons else c for c in claims]
    claimed = [c for c in every if c.claimed]
    n_ok = sum(c.holds for c in claimed)
    glue("claims_summary", f"{n_ok} of {len(claimed)}")
    bundle = {"text/html": table_html(every, why), "text/plain": table_text(every, why)}
    from . import data  # the data sets this chapter read, for the page's provenance

    display(bundle, metadata={MIME: [c.to_dict() for c in every], DATA_MIME: data.sources()}, raw=True)
    return claimed

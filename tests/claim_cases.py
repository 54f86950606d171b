"""The three tests every chapter's claims list gets (tests/test_chapter*.py): the claims have the
chapter's ids and hold on good records, every claim has a case beyond its bound, and each such
case fails its claim alone."""

import json
import re
from pathlib import Path
from typing import Callable

import pytest


def claim_tests(claims: Callable, records: Callable[[], dict], ids: list[str], beyond: list[tuple]) -> tuple:
    """The three tests for ``claims(**records())``; ``beyond``: (claim id, record name, changes), where
    ``changes`` is a dict of the record's fields or a replacement value; a claim may have several cases."""

    def test_claims_have_the_chapters_ids_and_hold_on_good_records():
        checks = claims(**records())
        assert [c.id for c in checks] == ids
        assert [c.id for c in checks if not c.holds] == []
        assert all(c.statement and c.source for c in checks)
        assert not any("Theorem" in c.source or "Theorem" in c.statement for c in checks)  # arXiv numbering

    def test_every_claim_has_a_case_beyond_its_bound():
        assert sorted({i for i, _, _ in beyond}) == sorted(ids)

    @pytest.mark.parametrize("claim_id, name, changes", beyond,
                             ids=[f"{i}-{k}" for k, (i, _, _) in enumerate(beyond)])
    def test_a_claim_fails_alone_beyond_its_bound(claim_id, name, changes):
        inputs = records()
        inputs[name] = inputs[name]._replace(**changes) if isinstance(changes, dict) else changes
        failing = [c for c in claims(**inputs) if not c.holds]
        assert [c.id for c in failing] == [claim_id]

    return (test_claims_have_the_chapters_ids_and_hold_on_good_records, test_every_claim_has_a_case_beyond_its_bound,
            test_a_claim_fails_alone_beyond_its_bound)


ROOT = Path(__file__).resolve().parent.parent


def record(cls, **fields):
    """A NamedTuple ``cls`` with ``fields`` set and every other field None."""
    return cls(**{name: fields.pop(name, None) for name in cls._fields}, **fields)


def prose_names(chapter: str) -> set[str]:
    """The glue names a chapter's markdown cells quote ({glue:text}`name`)."""
    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return set(re.findall(r"\{glue:text\}`([^`]+)`", text))

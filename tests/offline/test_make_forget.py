"""`make forget PERSON=<id>` offline: the samples analysed, the person erased, shown."""

from __future__ import annotations

import pytest

from scripts import forget


def test_make_forget_erases_a_sample_person_and_shows_before_and_after(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = forget.main(["eileen-collins"])

    shown = capsys.readouterr().out
    assert code == 0
    assert "uploads/mission/portrait.jpg" in shown  # tagged before
    assert '"erased": true' in shown
    assert "audit records: 1" in shown


def test_make_forget_without_a_person_id_stops() -> None:
    with pytest.raises(SystemExit):
        forget.main([])

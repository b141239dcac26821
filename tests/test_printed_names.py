"""Names from files are printed with their control characters escaped: a name cannot forge a
line of a report or an error, nor send escape sequences to the terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from converter.cli import main
from converter.core.errors import DataError, printable
from converter.look.metrics import evaluate, format_report, ground_truth
from converter.read.source import Source

FORGED = "x\noverall                  999     100.0     100.0         0.0"
ESCAPES = "\x1b[2J\x1b]0;owned\x07"


def test_printable_escapes_what_a_terminal_acts_on_and_keeps_the_rest() -> None:
    assert printable("n02958343_87 café 車") == "n02958343_87 café 車"
    assert printable(FORGED) == FORGED.replace("\n", "\\n")
    assert printable(ESCAPES) == "\\x1b[2J\\x1b]0;owned\\x07"
    assert printable("a\x85b\x9bc\u202ed") == "a\\x85b\\x9bc\\u202ed"


def test_a_prediction_name_cannot_forge_a_row_of_the_report(source: Source) -> None:
    truth = ground_truth(source, "validation")
    predictions = {name: {"azimuth": 3.0, "elevation": 0.0, "theta": 0.0} for name in truth}
    predictions[FORGED] = predictions[ESCAPES] = {"azimuth": 0.0, "elevation": 0.0, "theta": 0.0}
    lines = format_report(evaluate(predictions, truth))
    text = "\n".join(lines)
    assert [line for line in text.splitlines() if line.startswith("overall")] == [lines[-2]]
    assert "\x1b" not in text and "\x07" not in text
    assert lines[-1].startswith("unmatched names: 2 (first: ")


def test_the_command_line_prints_them_escaped(
    source: Source, sample_zip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    predictions = tmp_path / "predictions.jsonl"
    names = [*ground_truth(source, "validation"), FORGED, ESCAPES]
    lines = [{"name": name, "azimuth": 0, "elevation": 0, "theta": 0} for name in names]
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["evaluate", str(predictions), "--source", str(sample_zip)]) == 0
    out = capsys.readouterr().out
    assert sum(line.startswith("overall") for line in out.splitlines()) == 1
    assert "\x1b" not in out and "x\\noverall" in out


def test_an_error_naming_a_hostile_member_stays_one_line() -> None:
    error = DataError(f"images/car/{FORGED}.JPEG", "not a readable image", key="image")
    assert "\n" not in str(error) and "\\noverall" in str(error)

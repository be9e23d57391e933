"""Assertions shared by the CLI tests."""

from __future__ import annotations


def cli_error(capsys, whole: bool = True) -> str:
    """The CLI's error line from captured stderr: one sentence after "scnas: error:", no
    traceback. whole=True: it must be all of stderr; False: the last line (progress bars may
    come before it)."""
    err = capsys.readouterr().err.strip()
    line = err if whole else err.splitlines()[-1]
    assert line.startswith("scnas: error:") and "Traceback" not in err
    if whole:
        assert "\n" not in err
    return line

"""``python -m app.serve`` options: command line, then VCF_CDS_* variables, then
WEB_CONCURRENCY, then defaults; a bad value stops with a message naming the variable."""

from __future__ import annotations

import pytest

from app.serve import ServeConfigError, ServeOptions, main, options


def test_defaults() -> None:
    assert options([], {}) == ServeOptions("127.0.0.1", 8000, 1, 20)


def test_workers_from_vcf_cds_workers_before_web_concurrency() -> None:
    assert options([], {"WEB_CONCURRENCY": "3"}).workers == 3
    assert options([], {"VCF_CDS_WORKERS": "2", "WEB_CONCURRENCY": "3"}).workers == 2
    assert options([], {"VCF_CDS_WORKERS": "", "WEB_CONCURRENCY": "3"}).workers == 3


def test_command_line_wins() -> None:
    env = {"VCF_CDS_WORKERS": "2", "VCF_CDS_PORT": "9000", "VCF_CDS_HOST": "0.0.0.0"}
    got = options(["--workers", "4", "--port", "8080", "--host", "127.0.0.1"], env)
    assert got == ServeOptions("127.0.0.1", 8080, 4, 20)
    assert options([], env) == ServeOptions("0.0.0.0", 9000, 2, 20)


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        ([], {"VCF_CDS_WORKERS": "two"}, "VCF_CDS_WORKERS"),
        ([], {"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
        ([], {"VCF_CDS_PORT": "70000"}, "VCF_CDS_PORT"),
        ([], {"VCF_CDS_GRACEFUL_TIMEOUT": "-1"}, "VCF_CDS_GRACEFUL_TIMEOUT"),
        (["--workers", "0"], {}, "--workers"),
    ],
)
def test_bad_values_name_the_variable(argv: list[str], env: dict[str, str], named: str) -> None:
    with pytest.raises(ServeConfigError, match=named):
        options(argv, env)


def test_main_exits_2_on_a_bad_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VCF_CDS_WORKERS", "many")
    assert main([]) == 2
    assert "VCF_CDS_WORKERS" in capsys.readouterr().err

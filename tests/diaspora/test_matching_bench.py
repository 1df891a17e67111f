"""The matching benchmark still runs end to end (a small in-process run; figures are not asserted)."""

from bench import matching


def test_the_matching_benchmark_runs_and_prints_its_table(tmp_path, capsys):
    results = matching.main(
        [
            "--experts",
            "2000",
            "--requests",
            "200",
            "--queries",
            "20",
            "--changes",
            "20",
            "--quality-sample",
            "50",
            "--results",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert "batch total (match_batch)" in out and "baseline: skills product" in out
    assert "precision@1" in out and "target top-20 median" in out
    assert "top-20 in a minute of registry changes" in out
    assert results["assigned"] > 0
    assert list(tmp_path.glob("matching-*.txt"))

"""`make load`'s scenario is never run here (it takes minutes); its locustfile loads, its mix adds
up to 70/20/10, its form posting matches the respondent pages, and its report reads the groups.

Locust patches the standard library (gevent) when imported, so it is imported in a child process.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import json
from locust import HttpUser
import load.locustfile as scenario
users = [c for c in vars(scenario).values() if isinstance(c, type) and issubclass(c, HttpUser) and c is not HttpUser]
weights = {u.__name__: u.weight for u in users}
tasks = {u.__name__: len(u.tasks) for u in users}
print(json.dumps({"weights": weights, "tasks": tasks, "groups": [scenario.group_of(n) for n in
      ["/s/[wave]/ (start)", "/r/[token]/save/ (autosave)", "/api/v1/analytics/waves/", "/staff/", "/analytics/waves/[wave]/"]],
      "fields": scenario.form_fields({"a": "x", "m": ["p", "q"], "jobs": [{"employer": "S"}]})}))
"""


def test_the_locustfile_loads_and_its_mix_is_70_20_10():
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    total = sum(found["weights"].values())
    shares = {name: round(100 * weight / total) for name, weight in found["weights"].items()}
    assert shares == {"Respondent": 70, "Staff": 20, "ApiClient": 10}
    assert all(count > 0 for count in found["tasks"].values())
    assert found["groups"] == ["respondents", "respondents", "api", "staff", "staff"]
    assert found["fields"] == [["a", "x"], ["m", "p"], ["m", "q"], ["jobs__count", "1"], ["jobs[1].employer", "S"]]


def test_the_report_gives_percentiles_per_group_and_says_when_targets_are_missed(tmp_path, capsys):
    sys.path.insert(0, str(ROOT))
    try:
        from load import report
    finally:
        sys.path.remove(str(ROOT))
    groups = tmp_path / "groups.json"
    times = {"respondents": [10.0] * 98 + [900.0, 1000.0], "api": [20.0] * 10, "staff": []}
    groups.write_text(json.dumps({"times": times, "failures": {"respondents": 1, "api": 0, "staff": 0}}))
    assert report.main(str(groups), str(tmp_path / "none.csv"), "60") == 1  # 1 failure in 110: missed
    table = capsys.readouterr().out
    assert "respondents" in table and "Targets missed" in table
    assert report.percentile(times["respondents"], 0.99) == 900.0
    assert report.percentile([], 0.95) == 0.0


@pytest.mark.parametrize("share, expected", [(0.5, 3.0), (0.95, 5.0)])
def test_percentiles_are_nearest_rank(share, expected):
    sys.path.insert(0, str(ROOT))
    try:
        from load.report import percentile
    finally:
        sys.path.remove(str(ROOT))
    assert percentile([5.0, 1.0, 4.0, 2.0, 3.0], share) == expected

"""`hotline bench asr` for real: the real engine on a few items of the quick test set; its last
line is one JSON object with the figures the issue asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

KEYS = {
    "readings_exact", "readings_exact_with_previous", "numbers_exact", "intent_accuracy",
    "yesno_accuracy", "latency_p50_ms", "latency_p95_ms", "throughput",
    "utterances_per_s_per_core", "realtime_streams_per_core", "speech_output", "targets",
}


def test_bench_asr_last_line_is_json_with_the_figures() -> None:
    hotline = Path(sys.executable).with_name("hotline")
    result = subprocess.run([str(hotline), "bench", "asr", "--quick", "--limit", "8"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    assert KEYS <= set(figures)
    assert figures["items"] == 8
    assert figures["engine"] == "whisper"
    n = (figures["readings_n"] + figures["numbers_n"] + figures["intent_n"]
         + figures["yesno_n"])
    assert n == 8
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p95_ms"] < 10_000
    assert [t["workers"] for t in figures["throughput"]] == [1, 2]
    assert all(t["utterances_per_s"] > 0 and t["rtf"] > 0 for t in figures["throughput"])
    assert figures["speech_output_n"] == 8 and 0 <= figures["speech_output"]["all"] <= 1
    assert any(line.startswith("readings exact, first pass") for line in lines[:-1])

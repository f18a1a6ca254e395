"""`hotline bench asr`: speech recognition measured on the project's own Russian test set.

On the test split of `speech.testset` (built or reused here): readings exact on the first pass
(without and with the previous reading as context), account digits, intents, yes/no; latency
from the end of the utterance to the result (recognition + understanding, one stream, p50 and
p95); throughput with 1 and 2 workers (one engine each: utterances per second, real-time
factor); and the speech-output round trip (`hotline.bench.speech_output`). Human lines first,
then the figures as one JSON object on the last line.

The latency excludes the endpointer's end-of-speech silence (the caller's pause that ends the
utterance, `speech.vad`): it is what the machine adds after the utterance is complete.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import typer

from base.settings import Settings
from speech import testset
from speech.audio import load_for_engine
from speech.engine import Engine, Expect

TARGETS = {"readings_exact": 0.97, "intent_accuracy": 0.95, "latency_p95_ms": 800}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _rate(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def reading_ok(item: dict, value: str | None, zones: dict | None, digits: int | None) -> bool:
    """Exact: the digits as said; with a known meter width, the same digits zero-padded to it
    are the same reading (the flow may fill the zeros the caller left out)."""
    if item["zones"]:
        return zones == item["zones"]
    expected = item["expected"]
    return value == expected or (digits is not None and value == expected.zfill(digits))


def evaluate(engine: Engine, items: list[dict], folder: Path,
             say: Callable[[str], None]) -> tuple[dict, list[dict]]:
    from speech.understanding import ReadingContext, understand

    rows: list[dict] = []
    for item in items:
        expect = Expect(item["expect"])
        audio = load_for_engine(folder / item["file"])
        started = time.perf_counter()
        transcript = engine.transcribe(audio, expect)
        plain = understand(transcript, expect)
        plain_ms = (time.perf_counter() - started) * 1000
        row = {"id": item["id"], "kind": item["kind"], "style": item["style"],
               "voice": item["voice"], "text": transcript.text, "value": plain.value,
               "confidence": round(plain.confidence, 3), "ms": round(plain_ms, 1),
               "audio_ms": item["duration_ms"]}
        if item["kind"] == "reading":
            row["ok"] = reading_ok(item, plain.value, plain.zones, None)
            prev = item.get("previous")
            zones = tuple(item["zones"]) if item["zones"] else ("total",)
            context = ReadingContext(previous=prev["value"] if prev else None,
                                     days=prev["days"] if prev else None,
                                     digits=prev["digits"] if prev else 6, zones=zones)
            t1 = time.perf_counter()
            with_ctx = understand(transcript, expect, context)
            row["ms_context"] = round(plain_ms + (time.perf_counter() - t1) * 1000, 1)
            row["value_context"] = with_ctx.value
            row["ok_context"] = reading_ok(item, with_ctx.value, with_ctx.zones,
                                           context.digits)
        else:
            row["ok"] = plain.value == item["expected"]
        if not row["ok"]:
            say(f"  miss {item['id']} {item['kind']}/{item['style']}/{item['voice']} "
                f"{item['variation']['label']}: said «{item['text']}» expected "
                f"{item['expected'] or item['zones']} heard «{transcript.text}» -> {plain.value}")
        rows.append(row)

    def of(kind: str, key: str = "ok") -> list[bool]:
        return [r[key] for r in rows if r["kind"] == kind]

    latencies = [r["ms"] for r in rows]
    figures = {
        "readings_exact": _rate(of("reading")),
        "readings_exact_with_previous": _rate(of("reading", "ok_context")),
        "readings_n": len(of("reading")),
        "numbers_exact": _rate(of("number")),
        "numbers_n": len(of("number")),
        "intent_accuracy": _rate(of("intent")),
        "intent_n": len(of("intent")),
        "yesno_accuracy": _rate(of("yesno")),
        "yesno_n": len(of("yesno")),
        "latency_p50_ms": round(_pct(latencies, 0.5), 1),
        "latency_p95_ms": round(_pct(latencies, 0.95), 1),
        "latency_reading_p95_ms": round(_pct([r["ms_context"] for r in rows
                                              if "ms_context" in r], 0.95), 1),
    }
    by_style: dict[str, list[bool]] = {}
    for r in rows:
        if r["kind"] == "reading":
            by_style.setdefault(f"{r['style']}/{r['voice']}", []).append(r["ok_context"])
    figures["readings_by_style_with_previous"] = {k: _rate(v) for k, v in sorted(by_style.items())}
    return figures, rows


def throughput(open_engine: Callable[[int], Engine], items: list[dict], folder: Path,
               workers: int) -> dict:
    """Utterances per second with ``workers`` threads all busy on one engine opened for that
    many workers (Whisper: one model, that many CTranslate2 workers; as `speech.pool` runs)."""
    engine = open_engine(workers)
    audio = [(load_for_engine(folder / i["file"]), Expect(i["expect"])) for i in items]
    audio_s = sum(len(a) for a, _ in audio) / 16000

    def work(w: int) -> None:
        for a, expect in audio[w::workers]:
            engine.transcribe(a, expect)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, range(workers)))
    wall = time.perf_counter() - started
    return {"workers": workers, "utterances": len(audio),
            "utterances_per_s": round(len(audio) / wall, 2),
            "rtf": round(wall / audio_s, 3)}


def run(quick: bool = False, engine_name: str | None = None, limit: int | None = None,
        say: Callable[[str], None] = print, speech_output: bool = True) -> dict:
    from hotline.bench import speech_output as so
    from hotline.stack.stack import prompts_cache
    from speech.model_store import open_engine

    settings = Settings()
    if engine_name:
        settings = settings.model_copy(update={"asr_engine": engine_name})
    pack = so.pack_root(settings)
    started = time.perf_counter()
    manifest = testset.build(quick=quick, pack_dir=pack / "digits" if pack else None,
                             progress=say)
    say(f"test set {manifest.path} ({len(manifest.items)} items, "
        f"{manifest.data['sources']['note']}; built in {manifest.data['build_s']} s)")
    t0 = time.perf_counter()
    engine = open_engine(settings)
    load_s = time.perf_counter() - t0
    items = manifest.split("test")
    if limit:
        items = _spread(items, limit)
    say(f"engine {engine.name} loaded in {load_s:.1f} s; {len(items)} test items")
    figures, _rows = evaluate(engine, items, manifest.path, say)
    cores = os.cpu_count() or 1
    sample = _spread([i for i in items if i["kind"] in ("reading", "number")],
                     min(limit or 24, 8 if quick else 24))
    runs = [throughput(lambda w: open_engine(settings, workers=w), sample, manifest.path, w)
            for w in (1, 2)]
    best = max(runs, key=lambda r: r["utterances_per_s"])
    result: dict = {
        "engine": engine.name,
        "testset": manifest.hash,
        "items": len(items),
        **figures,
        "throughput": runs,
        "cores": cores,
        "utterances_per_s_per_core": round(best["utterances_per_s"] / cores, 2),
        "realtime_streams_per_core": round(1 / best["rtf"] / cores, 1) if best["rtf"] else None,
        "targets": TARGETS,
    }
    if speech_output and pack:
        voices = so.Voices(pack, prompts_cache(settings))
        cases = so.cases()
        heard = so.roundtrip(engine, voices, _spread(cases, limit) if limit else cases)
        for h in heard:
            if not h.ok:
                say(f"  output miss {h.case.kind} {h.case.expected}: heard «{h.text}» -> {h.value}")
        result["speech_output"] = so.accuracy(heard)
        result["speech_output_n"] = len(heard)
    elif speech_output:
        result["speech_output"] = None
        say("speech output not measured: the PBX's Russian sound pack is missing "
            "(hotline pbx build)")
    result["bench_s"] = round(time.perf_counter() - started, 1)
    _print_human(result, say)
    return result


def _spread(items: list[dict], n: int) -> list[dict]:
    """n items spread evenly over the list (so every kind is represented)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(k * step)] for k in range(n)]


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _print_human(r: dict, say: Callable[[str], None]) -> None:
    say(f"readings exact, first pass: {_fmt(r['readings_exact'])} without context, "
        f"{_fmt(r['readings_exact_with_previous'])} with the previous reading "
        f"(n={r['readings_n']}; target {_fmt(TARGETS['readings_exact'])})")
    say(f"account digits exact: {_fmt(r['numbers_exact'])} (n={r['numbers_n']})")
    say(f"intents: {_fmt(r['intent_accuracy'])} (n={r['intent_n']}; target "
        f"{_fmt(TARGETS['intent_accuracy'])}); yes/no: {_fmt(r['yesno_accuracy'])} "
        f"(n={r['yesno_n']})")
    say(f"latency end of speech -> result: p50 {r['latency_p50_ms']:.0f} ms, p95 "
        f"{r['latency_p95_ms']:.0f} ms (target {TARGETS['latency_p95_ms']} ms)")
    for t in r["throughput"]:
        say(f"throughput, {t['workers']} worker(s): {t['utterances_per_s']} utterances/s, "
            f"real-time factor {t['rtf']}")
    say(f"per core ({r['cores']} cores): {r['utterances_per_s_per_core']} utterances/s, "
        f"{r['realtime_streams_per_core']} real-time streams")
    if r.get("speech_output"):
        kinds = ", ".join(f"{k} {_fmt(v)}" for k, v in r["speech_output"].items())
        say(f"speech output round trip: {kinds}")


def cli(quick: bool, engine: str | None, limit: int | None) -> None:
    from speech.engine import EngineUnavailable

    try:
        result = run(quick=quick, engine_name=engine, limit=limit,
                     say=lambda m: typer.echo(m))
    except (EngineUnavailable, testset.TestsetError) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(result, ensure_ascii=False))

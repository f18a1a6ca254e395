"""One voice question over a real TCP AudioSocket, with a fake Asterisk peer written here:
the prompt paced at real time, barge-in, keys, end of speech, no input, hangup."""

from __future__ import annotations

import asyncio
import time
import uuid

import numpy as np

from speech.listen import Listened, Question, hear
from speech.vad import VadConfig
from telephony.audiosocket import (
    Audio,
    AudioSocketParser,
    AudioSocketServer,
    Hangup,
    encode_audio,
    encode_dtmf,
    encode_hangup,
    encode_uuid,
)

FRAME = 320


def tone(seconds: float, dbfs: float = -15.0, hz: float = 300.0) -> bytes:
    n = int(seconds * 8000)
    amp = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    return (amp * np.sin(2 * np.pi * hz * np.arange(n) / 8000)).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(int(seconds * 8000) * 2)


class Peer:
    """Asterisk's side: sends the caller's frames in real time, records what it is sent."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.audio_at: list[float] = []  # arrival time of each audible frame from the server
        self.silence_at: list[float] = []  # ... and of each silent one (keeping the line alive)
        self.hangup_at: float | None = None
        self.closed_at: float | None = None
        self.started = 0.0

    async def run(self, script: list[tuple[str, object]]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.started = time.monotonic()
        writer.write(encode_uuid(getattr(self, "stream_id", None) or uuid.uuid4()))
        listener = asyncio.create_task(self._listen(reader))
        try:
            for kind, value in script:
                if self.hangup_at is not None:
                    break
                if kind == "audio":
                    pcm = value  # type: ignore[assignment]
                    for i in range(0, len(pcm), FRAME):  # type: ignore[arg-type]
                        if self.hangup_at is not None:
                            break
                        writer.write(encode_audio(pcm[i:i + FRAME]))  # type: ignore[index]
                        await writer.drain()
                        await asyncio.sleep(0.02)
                elif kind == "dtmf":
                    writer.write(encode_dtmf(value))  # type: ignore[arg-type]
                    await writer.drain()
                elif kind == "wait":  # nothing sent, as a caller between sounds
                    await asyncio.sleep(value)  # type: ignore[arg-type]
                elif kind == "hangup":
                    writer.write(encode_hangup())
                    await writer.drain()
                    writer.close()
                    return
            await asyncio.wait_for(listener, 15)
        finally:
            listener.cancel()
            writer.close()

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        parser = AudioSocketParser()
        while True:
            data = await reader.read(4096)
            if not data:
                self.closed_at = time.monotonic()
                return
            for frame in parser.feed(data):
                if isinstance(frame, Audio):
                    at = time.monotonic() - self.started
                    (self.audio_at if any(frame.pcm) else self.silence_at).append(at)
                elif isinstance(frame, Hangup):
                    self.hangup_at = time.monotonic() - self.started


async def ask(question: Question, script: list[tuple[str, object]]) -> tuple[Listened, Peer]:
    results: asyncio.Queue[Listened] = asyncio.Queue()

    async def on_stream(stream) -> None:  # type: ignore[no-untyped-def]
        results.put_nowait(await hear(stream, question))

    server = AudioSocketServer("127.0.0.1", 0, on_stream)
    await server.start()
    try:
        peer = Peer(server.port)
        await asyncio.wait_for(peer.run(script), 30)
        return await asyncio.wait_for(results.get(), 5), peer
    finally:
        await server.stop()


VAD = VadConfig(end_silence_ms=600)


async def test_prompt_is_paced_and_silence_is_no_input() -> None:
    q = Question(prompt=tone(1.0, -20), timeout_ms=1000, vad=VAD)
    heard, peer = await ask(q, [("audio", silence(3.0))])
    assert heard.kind == "no_input" and heard.ended_by == "no_input" and heard.audio == b""
    assert len(peer.audio_at) == 50 and heard.played_ms == 1000 and not heard.barged_in
    # real time: the 50th frame no earlier than ~1 s minus the lead
    assert 0.85 < peer.audio_at[-1] < 1.3, peer.audio_at[-1]
    # no input counted from the prompt's end: hangup frame about 1 s after it
    assert peer.hangup_at is not None and 1.9 < peer.hangup_at < 2.5, peer.hangup_at
    # silence meanwhile, in real time (Asterisk's AudioSocket gives up after 2 s without frames)
    gaps = np.diff(peer.silence_at)
    assert len(peer.silence_at) >= 40 and gaps.max() < 0.1, (len(peer.silence_at), gaps.max())


async def test_speech_after_the_prompt_ends_on_silence() -> None:
    q = Question(prompt=tone(0.5, -20), timeout_ms=3000, vad=VAD)
    heard, peer = await ask(q, [("audio", silence(0.8) + tone(1.0) + silence(2.0))])
    assert heard.kind == "speech" and heard.ended_by == "end" and not heard.barged_in
    seconds = len(heard.audio) / 16000
    # the speech (1 s) with its pre-roll and the ending silence
    assert 1.5 <= seconds <= 2.0, seconds
    assert peer.hangup_at is not None and heard.speech_end_at is not None
    # the end of speech is when the tone stopped (1.8 s), not the endpointer's decision (+0.6 s)
    assert 1.7 < heard.speech_end_at - peer.started < 2.0, heard.speech_end_at - peer.started


async def test_speech_over_the_prompt_stops_it() -> None:
    q = Question(prompt=tone(3.0, -20, hz=500), timeout_ms=3000, vad=VAD)
    heard, peer = await ask(q, [("audio", silence(0.6) + tone(1.0) + silence(2.0))])
    assert heard.kind == "speech" and heard.barged_in
    # stopped within the onset (200 ms) plus the lead after the speech began at 0.6 s
    assert heard.played_ms < 1100, heard.played_ms
    assert max(peer.audio_at) < 1.1, max(peer.audio_at)


async def test_quiet_echo_does_not_stop_the_prompt() -> None:
    q = Question(prompt=tone(1.5, -20), timeout_ms=800, vad=VAD)
    heard, _ = await ask(q, [("audio", silence(0.1) + tone(1.5, -42) + silence(1.5))])
    assert not heard.barged_in and heard.played_ms == 1500


async def test_keys_stop_the_prompt_and_end_like_read() -> None:
    q = Question(prompt=tone(3.0, -20), max_digits=3, timeout_ms=2000, vad=VAD)
    heard, _ = await ask(q, [("audio", silence(0.5)), ("dtmf", "1"), ("dtmf", "2"),
                                ("audio", silence(0.2)), ("dtmf", "#"), ("audio", silence(1.0))])
    assert heard.kind == "keys" and heard.keys == "12" and heard.barged_in
    assert heard.played_ms < 800
    heard, _ = await ask(q, [("dtmf", "9"), ("dtmf", "8"), ("dtmf", "7"), ("audio", silence(1))])
    assert heard.keys == "987" and heard.ended_by == "keys"


async def test_one_key_ends_the_question_at_once() -> None:
    # max_digits=1: the key stops the prompt and ends the question in the same moment; the
    # stream must still get its hangup frame (Asterisk's AudioSocket, and the flow, go on).
    for _ in range(5):
        q = Question(prompt=tone(2.0, -20), max_digits=1, timeout_ms=2000, vad=VAD)
        heard, peer = await ask(q, [("audio", silence(0.3)), ("dtmf", "5"), ("audio", silence(2))])
        assert (heard.kind, heard.keys, heard.ended_by) == ("keys", "5", "keys")
        assert peer.hangup_at is not None and peer.hangup_at < 0.8, peer.hangup_at


async def test_no_frames_at_all_still_times_out() -> None:
    # A caller sending nothing (silence suppression): the clock still ends the question.
    q = Question(prompt=tone(0.4, -20), timeout_ms=700, vad=VAD)
    heard, peer = await ask(q, [("wait", 3.0)])
    assert heard.kind == "no_input"
    assert peer.hangup_at is not None and peer.hangup_at < 1.6, peer.hangup_at


async def test_hangup_mid_utterance_keeps_the_partial_audio() -> None:
    q = Question(prompt=tone(0.3, -20), timeout_ms=3000, vad=VAD)
    heard, _ = await ask(q, [("audio", silence(0.5) + tone(0.8)), ("hangup", None)])
    assert heard.kind == "hangup" and heard.ended_by == "hangup"
    assert 0.7 <= len(heard.audio) / 16000 <= 1.2, len(heard.audio) / 16000


# ---- FlowCall.listen: the AGI side, the audio side and the audit record together ---------------


class FakeAgi:
    """The AGI side of Asterisk: `AudioSocket` connects a fake peer with the stream's id."""

    def __init__(self, script: list[tuple[str, object]] | None = None, keys: str = "") -> None:
        self.script = script or []
        self.keys = keys
        self.commands: list[tuple[str, ...]] = []

    async def exec(self, app: str, *args: str) -> None:
        self.commands.append((app, *args))
        if app == "AudioSocket":
            stream_id, address = args
            _, port = address.rsplit(":", 1)
            peer = Peer(int(port))
            peer.stream_id = uuid.UUID(stream_id)  # type: ignore[attr-defined]
            await peer.run(self.script)

    async def get_variable(self, name: str) -> str:
        return self.keys


class Trail:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    def note(self, linkedid: str, kind: str, **data: object) -> None:
        self.events.append((kind, data))


def flow_call(agi: FakeAgi, voice: object, trail: Trail):  # type: ignore[no-untyped-def]
    from ivr.context import FlowCall

    return FlowCall(agi=agi, linkedid="1700000000.42", caller="", sounds="/sounds", notes=trail,
                    data=None, operators_open=lambda: False, book_callback=None,  # type: ignore[arg-type]
                    voice=voice)


async def test_listen_asks_with_keys_when_speech_is_off() -> None:
    from ivr.handlers import VoiceQuestions
    from speech.engine import Expect

    trail = Trail()
    agi = FakeAgi(keys="7")
    voice = VoiceQuestions("127.0.0.1:9", reason="speech is off (speech_enabled = false)")
    heard = await flow_call(agi, voice, trail).listen(["hotline:q"], Expect.YESNO)
    assert (heard.kind, heard.keys) == ("keys", "7")
    assert agi.commands == [("Read", "HOTLINE_INPUT,/sounds/q,1,,1,5")]
    assert ("speech", {"question": "question", "heard": "unavailable", "fallback": "keys",
                       "reason": "speech is off (speech_enabled = false)"}) in trail.events


async def _voice(tmp_path, pool_closed: bool = False):  # type: ignore[no-untyped-def]
    import hotline.db.models  # noqa: F401 - every table
    from base.db import Base, make_engine, make_session_factory
    from ivr.handlers import VoiceQuestions
    from speech.audio import pcm16_to_float, write_wav
    from speech.engine import Hypothesis, Transcript
    from speech.pool import RecognitionPool
    from speech.prompt_audio import PromptAudio
    from speech.service import SpeechService

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    Base.metadata.create_all(engine)
    sessions = make_session_factory(engine)
    (tmp_path / "sounds").mkdir()
    write_wav(tmp_path / "sounds" / "q.wav", pcm16_to_float(tone(0.4, -20)), 8000)

    class Engine:
        name = "fake"

        def transcribe(self, audio, expect):  # type: ignore[no-untyped-def]
            return Transcript((Hypothesis(f"{len(audio) // 1600}", 0.7),), "fake", 0, 1.0)

    class Understood:
        def __init__(self, text: str) -> None:
            self.text, self.value, self.confidence = text, text, 0.7
            self.alternatives, self.zones = (), None

    pool = RecognitionPool(Engine, understand=lambda t, e, c: Understood(t.text))
    if pool_closed:
        pool.close()
    server = AudioSocketServer("127.0.0.1", 0, lambda s: voice.serve(s))
    await server.start()
    voice = VoiceQuestions(f"127.0.0.1:{server.port}", PromptAudio(tmp_path / "sounds", None))
    voice.ready(SpeechService(pool, sessions, tmp_path / "data"))
    return voice, server, sessions


async def test_listen_recognises_and_keeps_the_utterance(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from speech.engine import Expect
    from speech.models import SpeechUtterance

    voice, server, sessions = await _voice(tmp_path)
    try:
        trail = Trail()
        agi = FakeAgi([("audio", silence(0.6) + tone(1.0) + silence(1.5))])
        call = flow_call(agi, voice, trail)
        call.note("flow", step="ask_reading")
        heard = await call.listen(["hotline:q"], Expect.READING)
    finally:
        await server.stop()
    assert heard.kind == "speech" and heard.utterance_id is not None
    # the fake engine says how many 100 ms of 16 kHz audio it was given: the utterance with
    # its pre-roll and the end-of-speech silence
    assert 15 <= int(heard.value) <= 22, heard.value
    with sessions() as db:
        row = db.get(SpeechUtterance, heard.utterance_id)
    assert (row.linkedid, row.question, row.expect, row.outcome, row.engine) == (
        "1700000000.42", "ask_reading", "reading", "recognised", "fake")
    assert row.path.endswith("1700000000.42-1.wav") and row.recognition_ms is not None
    assert (tmp_path / "data" / row.path).is_file()
    said = next(d for k, d in trail.events if k == "speech")
    assert said["heard"] == "speech" and said["value"] == heard.value


async def test_listen_overloaded_keeps_the_audio_and_says_overload(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from speech.engine import Expect
    from speech.models import SpeechUtterance

    voice, server, sessions = await _voice(tmp_path, pool_closed=True)
    try:
        trail = Trail()
        agi = FakeAgi([("audio", silence(0.6) + tone(1.0) + silence(1.5))])
        heard = await flow_call(agi, voice, trail).listen(["hotline:q"], Expect.NUMBER)
    finally:
        await server.stop()
    assert heard.kind == "overload" and heard.utterance_id is not None
    with sessions() as db:
        row = db.get(SpeechUtterance, heard.utterance_id)
    assert row.outcome == "overload" and row.text is None
    said = next(d for k, d in trail.events if k == "speech")
    assert said["heard"] == "overload" and said["fallback"] == "keys"


async def test_a_missing_engine_leaves_voice_questions_on_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from base.metrics import Samples
    from base.settings import Settings
    from hotline.wiring import load_speech, voice_questions

    settings = Settings(data_dir=tmp_path, asr_engine="vosk", asr_model="no-such-model",
                        asr_models_dir=tmp_path / "models", pbx_cache_dir=tmp_path / "pbx")
    voice = voice_questions(settings, "127.0.0.1:9")
    assert not voice.available and "loading" in voice.reason

    class Redis:
        state: dict[str, str] = {}  # noqa: RUF012

        async def hset(self, key: str, field: str, value: str) -> None:
            self.state[field] = value

    redis = Redis()
    await load_speech(settings, voice, None, None, redis, Samples("x"))
    assert not voice.available
    assert "no-such-model" in voice.reason and "hotline models install" in voice.reason
    assert redis.state["speech"].startswith("unavailable:")

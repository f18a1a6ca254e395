"""speech.audio against sox: WAV of every common encoding, G.711 tables, resampling."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from speech import audio


def sox(*args: str | Path) -> None:
    subprocess.run(["sox", *map(str, args)], check=True, capture_output=True)


def sox_float(path: Path, tmp: Path, *effects: str) -> np.ndarray:
    """sox's own reading of a file as mono float32 (channels averaged)."""
    out = tmp / f"{path.stem}.f32"
    sox(path, "-t", "f32", "-c", "1", out, *effects)
    return np.fromfile(out, dtype="<f4")


def tone(rate: int, freqs: tuple[float, ...], seconds: float = 0.5, amp: float = 0.3):
    t = np.arange(int(rate * seconds)) / rate
    return sum(amp * np.sin(2 * np.pi * f * t + i) for i, f in enumerate(freqs)).astype(np.float32)


def snr_db(ref: np.ndarray, got: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref.astype(np.float64) ** 2)
                               / np.sum((ref.astype(np.float64) - got) ** 2)))


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A 44.1 kHz stereo 16-bit file with tones and a sweep (sox's synth)."""
    path = tmp_path_factory.mktemp("src") / "source.wav"
    sox("-n", "-r", "44100", "-c", "2", "-b", "16", path,
        "synth", "0.7", "sine", "300-3000", "sine", "1200", "vol", "0.4")
    return path


ENCODINGS = [
    ("u8", ["-e", "unsigned-integer", "-b", "8"], 0x0001),
    ("s16", ["-e", "signed-integer", "-b", "16"], 0x0001),
    ("s24", ["-e", "signed-integer", "-b", "24"], 0xFFFE),
    ("s32", ["-e", "signed-integer", "-b", "32"], 0xFFFE),
    ("f32", ["-e", "floating-point", "-b", "32"], 0x0003),
    ("f64", ["-e", "floating-point", "-b", "64"], 0x0003),
    ("ulaw", ["-e", "u-law"], 0x0007),
    ("alaw", ["-e", "a-law"], 0x0006),
]


@pytest.mark.parametrize("name,args,tag", ENCODINGS, ids=[e[0] for e in ENCODINGS])
@pytest.mark.parametrize("rate,channels", [(8000, 1), (22050, 2), (48000, 3)])
def test_load_wav_matches_sox(tmp_path, source, name, args, tag, rate, channels) -> None:
    path = tmp_path / f"{name}-{rate}-{channels}.wav"
    sox(source, *args, "-r", str(rate), "-c", str(channels), path)
    (written_tag,) = struct.unpack_from("<H", path.read_bytes(), 20)
    if channels <= 2:
        assert written_tag == tag  # the encoding the test means to cover is the one in the file
    x, got_rate = audio.load_wav(path)
    ref = sox_float(path, tmp_path)
    assert got_rate == rate
    assert x.dtype == np.float32 and x.ndim == 1
    assert x.size == ref.size
    assert np.max(np.abs(ref)) > 0.1  # not a file of silence
    # sox averages the channels the same way; the samples are decoded bit-exactly
    assert np.max(np.abs(x - ref)) < 2e-6


def test_g711_tables_match_sox(tmp_path) -> None:
    codes = np.arange(256, dtype=np.uint8).tobytes()
    for enc, table in (("u-law", audio.ULAW_TO_INT16), ("a-law", audio.ALAW_TO_INT16)):
        (tmp_path / "codes.raw").write_bytes(codes)
        sox("-t", "raw", "-r", "8000", "-e", enc, "-b", "8", "-c", "1", tmp_path / "codes.raw",
            "-t", "s16", tmp_path / "dec.raw")
        assert np.array_equal(np.fromfile(tmp_path / "dec.raw", dtype="<i2"), table)


def test_g711_encoders_against_sox_on_every_16_bit_value(tmp_path) -> None:
    """The encoders are ITU-T G.711's reference (Sun's g711.c, as CPython's audioop): they
    truncate to 14 (µ-law) / 13 (A-law) bits where sox rounds to nearest, so sox's codes differ
    by one step on the values at a quantisation boundary — and nowhere else."""
    ramp = np.arange(-32768, 32768, dtype="<i2")
    ramp.tofile(tmp_path / "ramp.raw")
    x = ramp.astype(np.float32) / 32768
    for enc, ours, table in (("u-law", audio.ulaw_encode, audio.ULAW_TO_INT16),
                             ("a-law", audio.alaw_encode, audio.ALAW_TO_INT16)):
        sox("-D", "-t", "s16", "-r", "8000", "-c", "1", tmp_path / "ramp.raw",  # no dither
            "-t", "raw", "-e", enc, "-b", "8", tmp_path / "enc.raw")
        theirs = np.fromfile(tmp_path / "enc.raw", dtype=np.uint8)
        mine = np.frombuffer(ours(x), dtype=np.uint8)
        differ = mine != theirs
        assert differ.mean() < 0.02
        # where they differ, the two decoded values are neighbours on the G.711 scale
        levels = np.unique(table)
        step = np.abs(np.searchsorted(levels, table[mine[differ]])
                      - np.searchsorted(levels, table[theirs[differ]]))
        assert step.max() == 1
        # and the mean error of the two is the same to 0.1 %
        err_mine = np.abs(table[mine].astype(np.int64) - ramp).mean()
        err_sox = np.abs(table[theirs].astype(np.int64) - ramp).mean()
        assert err_mine == pytest.approx(err_sox, rel=1e-3)


def test_g711_round_trip_is_close() -> None:
    x = tone(8000, (440.0, 1700.0))
    for encode, decode in ((audio.ulaw_encode, audio.ulaw_decode),
                           (audio.alaw_encode, audio.alaw_decode)):
        back = decode(encode(x))
        assert snr_db(x, back) > 30  # G.711's ~38 dB SNR at this level


def test_pcm16_round_trip_and_clipping() -> None:
    raw = np.array([-32768, -1, 0, 1, 12345, 32767], dtype="<i2").tobytes()
    x = audio.pcm16_to_float(raw)
    assert x.dtype == np.float32
    assert x[0] == -1.0 and x[2] == 0.0
    assert audio.float_to_pcm16(x) == raw
    clipped = np.frombuffer(audio.float_to_pcm16(np.array([1.5, -2.0])), dtype="<i2")
    assert clipped.tolist() == [32767, -32768]
    with pytest.raises(ValueError):
        audio.pcm16_to_float(b"\x01\x02\x03")


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
def test_resampling_to_16k_matches_sox(tmp_path, rate) -> None:
    # tones inside both pass bands (up to 0.85 x the lower Nyquist frequency)
    top = 0.85 * min(rate, 16000) / 2
    x = tone(rate, (220.0, 0.4 * top, top))
    path = tmp_path / "in.wav"
    audio.write_wav(path, x, rate, "float")
    ours = audio.to_engine_rate(*audio.load_wav(path))
    theirs = sox_float(path, tmp_path, "rate", "-v", "16000")
    assert abs(ours.size - theirs.size) <= 1
    n = min(ours.size, theirs.size)
    edge = 200  # the filters' start-up differs; the steady state must agree
    assert snr_db(theirs[edge:n - edge], ours[edge:n - edge]) > 45


def test_downsampling_removes_what_would_alias() -> None:
    # 12 kHz is above the 8 kHz Nyquist frequency of the output: naive decimation folds it to
    # 4 kHz at full level; the anti-aliasing filter must take it out.
    x = tone(44100, (12000.0,), amp=0.5)
    y = audio.to_engine_rate(x, 44100)[400:-400]
    assert np.sqrt(np.mean(y.astype(np.float64) ** 2)) < 0.5 * 10 ** (-60 / 20)
    kept = audio.to_engine_rate(tone(44100, (3000.0,), amp=0.5), 44100)[400:-400]
    assert np.sqrt(np.mean(kept.astype(np.float64) ** 2)) == pytest.approx(0.5 / np.sqrt(2),
                                                                          rel=0.01)


def test_upsampling_suppresses_the_image() -> None:
    x = tone(8000, (3000.0,), seconds=1.0, amp=0.5)
    y = audio.to_engine_rate(x, 8000)[400:-400].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    freqs = np.fft.rfftfreq(y.size, 1 / 16000)
    wanted = spectrum[np.abs(freqs - 3000) < 50].max()
    image = spectrum[np.abs(freqs - 5000) < 50].max()  # 8000 - 3000
    assert 20 * np.log10(wanted / image) > 60


def test_wav_writer_round_trips_every_encoding(tmp_path) -> None:
    x = tone(8000, (500.0,))
    for enc, tol in (("pcm16", 1 / 32768), ("float", 0.0), ("ulaw", 0.02), ("alaw", 0.02)):
        audio.write_wav(tmp_path / f"{enc}.wav", x, 8000, enc)
        back, rate = audio.load_wav(tmp_path / f"{enc}.wav")
        assert rate == 8000 and back.size == x.size
        assert np.max(np.abs(back - x)) <= tol
        # sox reads what we write
        assert np.max(np.abs(sox_float(tmp_path / f"{enc}.wav", tmp_path) - back)) < 2e-6


def test_unreadable_files_say_why(tmp_path) -> None:
    (tmp_path / "text.wav").write_text("hello")
    with pytest.raises(audio.WavError, match="not a RIFF/WAVE"):
        audio.load_wav(tmp_path / "text.wav")
    with pytest.raises(audio.WavError, match="No such file"):
        audio.load_wav(tmp_path / "missing.wav")
    sox("-n", "-r", "8000", "-e", "ima-adpcm", tmp_path / "adpcm.wav", "synth", "0.1", "sine",
        "440")
    with pytest.raises(audio.WavError, match="unsupported encoding: format 0x0011"):
        audio.load_wav(tmp_path / "adpcm.wav")
    header_only = audio.wav_bytes(np.zeros(0, np.float32), 8000)
    no_data = header_only[: header_only.index(b"data")]
    (tmp_path / "nodata.wav").write_bytes(no_data)
    with pytest.raises(audio.WavError, match="no data chunk"):
        audio.load_wav(tmp_path / "nodata.wav")


def test_streamed_wav_with_unknown_data_size_is_read_to_the_end(tmp_path) -> None:
    x = tone(8000, (700.0,), seconds=0.2)
    data = bytearray(audio.wav_bytes(x, 8000))
    pos = data.index(b"data")
    data[pos + 4:pos + 8] = struct.pack("<I", 0xFFFFFFFF)  # as a streaming writer leaves it
    got, _ = audio.parse_wav(bytes(data))
    assert got.size == x.size

"""Audio in the shapes the speech engines take: WAV of any common kind in, float32 mono out.

- `load_wav` reads the RIFF container itself (the stdlib `wave` refuses µ-law, A-law and
  float): PCM 8/16/24/32-bit, IEEE float 32/64, G.711 µ-law and A-law, WAVE_FORMAT_EXTENSIBLE,
  any rate, any number of channels (mixed down to mono).
- `resample` / `to_engine_rate`: band-limited resampling by a rational factor with a
  Kaiser-windowed sinc, evaluated polyphase (numpy only). Going down (44.1/48 kHz → 16 kHz) the
  filter removes what would alias; going up (8 kHz → 16 kHz) it interpolates.
- G.711 µ-law/A-law encoders and decoders (ITU-T G.711, the same tables as sox and Asterisk),
  and 16-bit PCM ↔ float (full scale 32768).
"""

from __future__ import annotations

import struct
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np

from speech.engine import SAMPLE_RATE

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE


class WavError(ValueError):
    """The file is not a WAV file this module can read (the message says why)."""


# ---- 16-bit PCM <-> float ---------------------------------------------------------------------


def pcm16_to_float(data: bytes | bytearray | memoryview) -> np.ndarray:
    """Signed 16-bit little-endian samples → float32 in [-1, 1)."""
    raw = bytes(data)
    if len(raw) % 2:
        raise ValueError(f"16-bit PCM has an even number of bytes, got {len(raw)}")
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / np.float32(32768.0)


def float_to_int16(x: np.ndarray) -> np.ndarray:
    """Float samples (full scale ±1) → int16, rounded, clipped."""
    scaled = np.rint(np.asarray(x, dtype=np.float64) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def float_to_pcm16(x: np.ndarray) -> bytes:
    """Float samples (full scale ±1) → signed 16-bit little-endian bytes, rounded, clipped."""
    return float_to_int16(x).astype("<i2").tobytes()


# ---- G.711 ------------------------------------------------------------------------------------

_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


def _ulaw_encode_table() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), 8159) + (0x84 >> 2)
    seg = np.searchsorted(_SEG_UEND, pcm, side="left")
    uval = (seg << 4) | ((pcm >> (seg + 1)) & 0x0F)
    return (np.where(seg >= 8, 0x7F, uval) ^ mask).astype(np.uint8)


def _alaw_encode_table() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = np.searchsorted(_SEG_AEND, pcm, side="left")
    low = np.where(seg < 2, (pcm >> 1) & 0x0F, (pcm >> np.maximum(seg, 1)) & 0x0F)
    aval = np.where(seg >= 8, 0x7F, (seg << 4) | low)
    return (aval ^ mask).astype(np.uint8)


ULAW_TO_INT16 = _ulaw_decode_table()
ALAW_TO_INT16 = _alaw_decode_table()
_INT16_TO_ULAW = _ulaw_encode_table()
_INT16_TO_ALAW = _alaw_encode_table()


def ulaw_decode(data: bytes | bytearray | memoryview) -> np.ndarray:
    """G.711 µ-law bytes → float32 (full scale 32768)."""
    codes = np.frombuffer(bytes(data), dtype=np.uint8)
    return ULAW_TO_INT16[codes].astype(np.float32) / np.float32(32768.0)


def alaw_decode(data: bytes | bytearray | memoryview) -> np.ndarray:
    """G.711 A-law bytes → float32 (full scale 32768)."""
    codes = np.frombuffer(bytes(data), dtype=np.uint8)
    return ALAW_TO_INT16[codes].astype(np.float32) / np.float32(32768.0)


def ulaw_encode(x: np.ndarray) -> bytes:
    """Float samples → G.711 µ-law bytes."""
    return _INT16_TO_ULAW[float_to_int16(x).astype(np.int32) + 32768].tobytes()


def alaw_encode(x: np.ndarray) -> bytes:
    """Float samples → G.711 A-law bytes."""
    return _INT16_TO_ALAW[float_to_int16(x).astype(np.int32) + 32768].tobytes()


# ---- WAV --------------------------------------------------------------------------------------


def load_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Any common WAV file → (float32 mono samples in [-1, 1], sample rate)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise WavError(f"{path}: {exc.strerror or exc}") from None
    try:
        return parse_wav(data)
    except WavError as exc:
        raise WavError(f"{path}: {exc}") from None


def parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """The bytes of a WAV file → (float32 mono, rate). See `load_wav`."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int, int] | None = None
    body: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos:pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        start = pos + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(data[start:start + size])
        elif chunk_id == b"data":
            # A writer that streamed the file may leave the size at 0 or 0xFFFFFFFF: take the
            # rest of the file (as sox does) when the size runs past the end or is zero.
            end = start + size if size and start + size <= len(data) else len(data)
            body = data[start:end]
            if fmt is not None:
                break
        pos = start + size + (size & 1)  # chunks are word-aligned
    if fmt is None:
        raise WavError("no fmt chunk")
    if body is None:
        raise WavError("no data chunk")
    tag, channels, rate, block_align, bits = fmt
    samples = _decode(body, tag, bits, block_align, channels)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1, dtype=np.float64)
    return np.ascontiguousarray(samples, dtype=np.float32), rate


def _parse_fmt(chunk: bytes) -> tuple[int, int, int, int, int]:
    if len(chunk) < 16:
        raise WavError("fmt chunk too short")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", chunk)
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(chunk) < 40:
            raise WavError("extensible fmt chunk too short")
        # cbSize, wValidBitsPerSample, dwChannelMask, then the sub-format GUID whose first two
        # bytes are the format tag
        (tag,) = struct.unpack_from("<H", chunk, 24)
    if channels < 1:
        raise WavError("no channels")
    if rate < 1:
        raise WavError(f"sample rate {rate}")
    if block_align < 1:
        block_align = channels * max(1, (bits + 7) // 8)
    return tag, channels, rate, block_align, bits


def _decode(body: bytes, tag: int, bits: int, block_align: int, channels: int) -> np.ndarray:
    width = block_align // channels
    if width < 1 or block_align % channels:
        raise WavError(f"block align {block_align} for {channels} channels")
    usable = len(body) - len(body) % block_align  # a truncated last frame is dropped
    raw = body[:usable]
    if tag == WAVE_FORMAT_MULAW and width == 1:
        return ulaw_decode(raw)
    if tag == WAVE_FORMAT_ALAW and width == 1:
        return alaw_decode(raw)
    if tag == WAVE_FORMAT_IEEE_FLOAT and width in (4, 8):
        values = np.frombuffer(raw, dtype="<f4" if width == 4 else "<f8")
        return values.astype(np.float32)
    if tag == WAVE_FORMAT_PCM:
        if width == 1:  # 8-bit WAV is unsigned
            return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
        if width == 2:
            return np.frombuffer(raw, dtype="<i2").astype(np.float32) / np.float32(32768.0)
        if width == 3:
            b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            v = np.where(v & 0x800000, v - 0x1000000, v)
            return (v / 8388608.0).astype(np.float32)
        if width == 4:
            return (np.frombuffer(raw, dtype="<i4") / 2147483648.0).astype(np.float32)
    names = {WAVE_FORMAT_PCM: "PCM", WAVE_FORMAT_IEEE_FLOAT: "float",
             WAVE_FORMAT_ALAW: "A-law", WAVE_FORMAT_MULAW: "µ-law"}
    kind = names.get(tag, f"format 0x{tag:04x}")
    raise WavError(f"unsupported encoding: {kind}, {bits} bits in {width}-byte samples")


def wav_bytes(x: np.ndarray, rate: int, encoding: str = "pcm16") -> bytes:
    """Mono samples → a WAV file: encoding "pcm16", "ulaw", "alaw" or "float"."""
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    if encoding == "pcm16":
        tag, width, payload = WAVE_FORMAT_PCM, 2, float_to_pcm16(x)
    elif encoding == "ulaw":
        tag, width, payload = WAVE_FORMAT_MULAW, 1, ulaw_encode(x)
    elif encoding == "alaw":
        tag, width, payload = WAVE_FORMAT_ALAW, 1, alaw_encode(x)
    elif encoding == "float":
        tag, width, payload = WAVE_FORMAT_IEEE_FLOAT, 4, x.astype("<f4").tobytes()
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    extra = b"" if tag == WAVE_FORMAT_PCM else struct.pack("<H", 0)
    fmt = struct.pack("<HHIIHH", tag, 1, rate, rate * width, width, 8 * width) + extra
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if tag != WAVE_FORMAT_PCM:  # non-PCM WAV carries a fact chunk (sample count)
        chunks += b"fact" + struct.pack("<II", 4, len(x))
    chunks += b"data" + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def write_wav(path: str | Path, x: np.ndarray, rate: int, encoding: str = "pcm16") -> None:
    Path(path).write_bytes(wav_bytes(x, rate, encoding))


# ---- resampling -------------------------------------------------------------------------------

ZERO_CROSSINGS = 48  # of the sinc, each side, at the lower of the two rates
KAISER_BETA = 8.6  # ~ 80 dB stop band
PASSBAND = 0.93  # cutoff as a fraction of the lower Nyquist: flat to ~0.88, stop from ~0.98
_BLOCK = 8192  # output samples computed at once (bounds memory for long files)


@lru_cache(maxsize=16)
def _polyphase(up: int, down: int) -> tuple[np.ndarray, int]:
    """The filter as a table [phase, tap] for output phase p = (m*down) % up, and K."""
    factor = max(up, down)
    half = ZERO_CROSSINGS * factor  # half-width in samples of the up-sampled signal
    k = -(-half // up)  # input samples on each side
    taps = 2 * k
    fc = 0.5 * PASSBAND / factor  # cycles per up-sampled sample
    p = np.arange(up)[:, None]
    j = np.arange(taps)[None, :]
    d = (p + (k - 1 - j) * up).astype(np.float64)  # distance in up-sampled samples
    ratio = np.clip(d / half, -1.0, 1.0)
    window = np.i0(KAISER_BETA * np.sqrt(1.0 - ratio**2)) / np.i0(KAISER_BETA)
    h = 2 * fc * np.sinc(2 * fc * d) * window * (np.abs(d) <= half)
    return (h * up).astype(np.float32), k


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling of mono float samples from rate_in to rate_out."""
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(-1))
    if rate_in == rate_out or x.size == 0:
        return x.copy()
    if rate_in < 1 or rate_out < 1:
        raise ValueError(f"sample rates must be positive: {rate_in} → {rate_out}")
    g = gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    table, k = _polyphase(up, down)
    taps = table.shape[1]
    n_out = -(-x.size * up // down)
    padded = np.concatenate([np.zeros(k, np.float32), x, np.zeros(k + 1, np.float32)])
    out = np.empty(n_out, dtype=np.float32)
    j = np.arange(taps)
    for start in range(0, n_out, _BLOCK):
        m = np.arange(start, min(start + _BLOCK, n_out), dtype=np.int64)
        q, phase = np.divmod(m * down, up)
        # input index i = q - k + 1 + j, shifted by k for the padding
        idx = (q + 1)[:, None] + j[None, :]
        out[start:start + m.size] = np.einsum("mj,mj->m", padded[idx], table[phase])
    return out


def to_engine_rate(x: np.ndarray, rate: int) -> np.ndarray:
    """Mono samples at any rate → float32 at the engines' rate (16 kHz)."""
    return resample(x, rate, SAMPLE_RATE)


def load_for_engine(path: str | Path) -> np.ndarray:
    """A WAV file → float32 mono at 16 kHz, ready for `Engine.transcribe`."""
    x, rate = load_wav(path)
    return to_engine_rate(x, rate)

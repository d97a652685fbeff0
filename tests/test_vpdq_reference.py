"""vPDQ equals the PyPI vpdq package's output frame for frame, at both samplings."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import BUNDLED_REFDATA
from vigil.signals import vpdq
from vigil.signals.mode import Mode

SAMPLINGS = {"every-frame": 0.0, "1s": 1.0}
BUNDLED_VIDEOS = sorted((BUNDLED_REFDATA / "videos").glob("*.mp4"))


def _check(base: Path, video: Path, suffix: str) -> None:
    expected = (base / "vpdq-reference-hashes" / f"{video.stem}.{suffix}.txt").read_text()
    got = vpdq.format_lines(vpdq.hash_video(video, seconds_per_hash=SAMPLINGS[suffix], mode=Mode.EXACT))
    assert got.splitlines() == expected.splitlines()


@pytest.mark.parametrize("suffix", SAMPLINGS)
@pytest.mark.parametrize("video", BUNDLED_VIDEOS, ids=lambda p: p.stem)
def test_bundled_videos_equal_reference(video: Path, suffix: str) -> None:
    _check(BUNDLED_REFDATA, video, suffix)


@pytest.mark.parametrize("suffix", SAMPLINGS)
def test_every_sample_video_equals_reference(refdata_full: Path, suffix: str) -> None:
    videos = sorted((refdata_full / "videos").glob("*.mp4"))
    assert len(videos) >= 14
    for video in videos:
        _check(refdata_full, video, suffix)


def test_line_form_round_trips() -> None:
    line = "30,100,DF83B48F2AD34D68169C36BC6D2F6B36CE5ED08701A301E9CBB9FC12F80B8154,1.000"
    feature = vpdq.parse_line(line)
    assert feature.frame == 30 and feature.quality == 100 and feature.timestamp == 1.0
    assert feature.to_line() == line.lower().replace("DF83", "df83")
    for bad in ("1,2,3", "0,100,xyz,0.0", "0,100," + "g" * 64 + ",0.0"):
        with pytest.raises(ValueError):
            vpdq.parse_line(bad)


def test_negative_sampling_is_a_usage_error() -> None:
    from vigil.errors import UsageError

    with pytest.raises(UsageError):
        vpdq.hash_video(BUNDLED_VIDEOS[0], seconds_per_hash=-1)


def test_fast_mode_hashes_key_frames_close_to_exact() -> None:
    video = BUNDLED_REFDATA / "videos" / "pattern-sd-grey-bar.mp4"
    exact = vpdq.hash_video(video, seconds_per_hash=0, mode=Mode.EXACT)
    fast = vpdq.hash_video(video, seconds_per_hash=1, mode=Mode.FAST)
    assert fast and fast[0].frame == 0
    from vigil.signals.pdq import distance

    by_frame = {f.frame: f for f in exact}
    for f in fast:
        assert distance(f.hash, by_frame[f.frame].hash) <= 31


def _remux(src: Path, dst: Path, fmt: str) -> None:
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt) as out:
        vin = inp.streams.video[0]
        vout = out.add_stream_from_template(vin)
        for packet in inp.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            out.mux(packet)


def test_fast_mode_numbers_frames_from_the_stream_start(tmp_path: Path) -> None:
    """MPEG-TS streams start after time 0; frame numbers and timestamps must not shift."""
    ts = tmp_path / "pattern.ts"
    _remux(BUNDLED_REFDATA / "videos" / "pattern-sd-grey-bar.mp4", ts, "mpegts")
    exact = vpdq.hash_video(ts, seconds_per_hash=0, mode=Mode.EXACT)
    fast = vpdq.hash_video(ts, seconds_per_hash=1, mode=Mode.FAST)
    assert fast[0].frame == 0 and fast[0].timestamp == 0.0
    from vigil.signals.pdq import distance

    by_frame = {f.frame: f for f in exact}
    for f in fast:
        assert f.timestamp == by_frame[f.frame].timestamp
        assert distance(f.hash, by_frame[f.frame].hash) <= 16

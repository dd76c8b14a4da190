"""Audio frames of the scripted caller, and a speaker that plays the agent's audio in simulated time."""

from __future__ import annotations

import asyncio
import math
import time

from livekit import rtc
from livekit.agents.voice import io

SAMPLE_RATE = 16000
FRAME_MS = 20
SAMPLES_PER_FRAME = SAMPLE_RATE * FRAME_MS // 1000
# energy above this (mean absolute sample) is speech, for the VAD and the STT alike
SPEECH_LEVEL = 500


def make_frame(speaking: bool) -> rtc.AudioFrame:
    """20 ms of mono 16 kHz audio: a 220 Hz tone while speaking, silence otherwise."""
    frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, SAMPLES_PER_FRAME)
    if speaking:
        data = frame.data
        for i in range(SAMPLES_PER_FRAME):
            data[i] = int(4000 * math.sin(2 * math.pi * 220 * i / SAMPLE_RATE))
    return frame


def is_speech(frame: rtc.AudioFrame) -> bool:
    data = frame.data
    n = len(data)
    return n > 0 and sum(abs(s) for s in data[::8]) / (n / 8) > SPEECH_LEVEL


class ScriptedAudioInput(io.AudioInput):
    """A microphone fed by ScriptedUser."""

    def __init__(self) -> None:
        super().__init__(label="ScriptedAudioInput")
        self._queue: asyncio.Queue[rtc.AudioFrame | None] = asyncio.Queue()

    def push(self, frame: rtc.AudioFrame | None) -> None:
        self._queue.put_nowait(frame)

    async def __anext__(self) -> rtc.AudioFrame:
        frame = await self._queue.get()
        if frame is None:
            raise StopAsyncIteration
        return frame


class SimulatedAudioOutput(io.AudioOutput):
    """A speaker: plays each captured frame `playback_speed` times faster than real time,
    reporting playback start and finish like a real audio sink (no TTS runs without one)."""

    def __init__(self, playback_speed: float = 4.0) -> None:
        super().__init__(
            label="SimulatedAudioOutput", capabilities=io.AudioOutputCapabilities(pause=False)
        )
        self._speed = playback_speed
        self._pushed = 0.0
        self._segment_started: float | None = None
        self._play_task: asyncio.Task[None] | None = None
        self._interrupted = False

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._segment_started is None:
            self._segment_started = time.time()
            self._interrupted = False
            self.on_playback_started(created_at=self._segment_started)
        self._pushed += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._segment_started is None:
            return
        pushed, started = self._pushed, self._segment_started
        self._pushed, self._segment_started = 0.0, None
        self._play_task = asyncio.create_task(self._play(pushed, started))

    async def _play(self, pushed: float, started: float) -> None:
        remaining = pushed / self._speed - (time.time() - started)
        try:
            if remaining > 0:
                await asyncio.sleep(remaining)
        except asyncio.CancelledError:
            played = min(pushed, (time.time() - started) * self._speed)
            self.on_playback_finished(playback_position=played, interrupted=True)
            raise
        self.on_playback_finished(playback_position=pushed, interrupted=False)

    def clear_buffer(self) -> None:
        if self._play_task and not self._play_task.done():
            self._play_task.cancel()
        elif self._segment_started is not None:
            played = min(self._pushed, (time.time() - self._segment_started) * self._speed)
            self._pushed, self._segment_started = 0.0, None
            self.on_playback_finished(playback_position=played, interrupted=True)

"""The caller: a microphone streaming 20 ms frames in real time, speech while `say` runs."""

from __future__ import annotations

import asyncio
import time

from .audio import FRAME_MS, ScriptedAudioInput, make_frame
from .stt import ScriptedSTT

MS_PER_WORD = 180


class ScriptedUser:
    def __init__(self, stt: ScriptedSTT) -> None:
        self.audio_input = ScriptedAudioInput()
        self._stt = stt
        self._speaking_until = 0.0
        self._task: asyncio.Task[None] | None = None
        self._speech = make_frame(True)
        self._silence = make_frame(False)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._stream())

    async def _stream(self) -> None:
        next_at = time.time()
        while True:
            # catch up on frames a slow event loop delayed, as a real track's buffer would
            while next_at <= time.time():
                self.audio_input.push(self._speech if next_at < self._speaking_until else self._silence)
                next_at += FRAME_MS / 1000
            await asyncio.sleep(max(0.001, next_at - time.time()))

    async def say(self, transcript: str, confidence: float = 0.94) -> None:
        """Speaks `transcript` (its length follows the word count); returns when speech ends."""
        self._stt.expect(transcript, confidence)
        duration = max(0.4, len(transcript.split()) * MS_PER_WORD / 1000)
        self._speaking_until = time.time() + duration
        await asyncio.sleep(duration)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        self.audio_input.push(None)

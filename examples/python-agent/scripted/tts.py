"""A non-streaming TTS (the SDK runs it behind its sentence stream adapter, as it does OpenAI's or
any HTTP TTS): after a seeded time to first byte it returns silence as long as the text would take
to speak, in 100 ms chunks."""

from __future__ import annotations

import asyncio
import uuid

from livekit.agents import APIConnectOptions, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from .random_latency import Latency

SAMPLE_RATE = 24000
SECONDS_PER_CHARACTER = 0.06


class ScriptedTTS(tts.TTS):
    def __init__(self, *, seed: int = 44, provider: str = "cartesia", model: str = "sonic-2") -> None:
        super().__init__(capabilities=tts.TTSCapabilities(streaming=False), sample_rate=SAMPLE_RATE, num_channels=1)
        self._provider, self._model = provider, model
        self.ttfb = Latency(seed, 120, 260)

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> tts.ChunkedStream:
        return _ScriptedChunkedStream(tts=self, input_text=text, conn_options=conn_options)


class _ScriptedChunkedStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        scripted: ScriptedTTS = self._tts  # type: ignore[assignment]
        output_emitter.initialize(request_id=uuid.uuid4().hex[:12], sample_rate=SAMPLE_RATE, num_channels=1, mime_type="audio/pcm")
        await asyncio.sleep(scripted.ttfb.draw())
        chunk = bytes(2 * SAMPLE_RATE // 10)  # 100 ms of 16-bit silence
        for _ in range(max(1, round(len(self._input_text) * SECONDS_PER_CHARACTER * 10))):
            output_emitter.push(chunk)
            await asyncio.sleep(0)
        output_emitter.flush()

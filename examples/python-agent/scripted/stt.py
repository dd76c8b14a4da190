"""A streaming STT that "hears" the caller's speech from frame energy and transcribes what the
caller was scripted to say: START_OF_SPEECH, interim transcripts, then after a seeded provider
delay FINAL_TRANSCRIPT, END_OF_SPEECH (with the true end of speech) and RECOGNITION_USAGE."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque

from livekit import rtc
from livekit.agents import APIConnectOptions, stt
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from .audio import is_speech
from .random_latency import Latency

# silence that ends an utterance for the provider's own endpointing
END_SILENCE = 0.2


class ScriptedSTT(stt.STT):
    def __init__(self, *, seed: int = 42, provider: str = "deepgram", model: str = "nova-3") -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=True))
        self._provider, self._model = provider, model
        self.final_delay = Latency(seed, 120, 320)
        self._expected: deque[tuple[str, float]] = deque()

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider

    def expect(self, transcript: str, confidence: float) -> None:
        """Queues what the caller is about to say."""
        self._expected.append((transcript, confidence))

    def next_expected(self) -> tuple[str, float]:
        return self._expected.popleft() if self._expected else ("", 0.0)

    async def _recognize_impl(self, buffer, *, language=NOT_GIVEN, conn_options: APIConnectOptions):  # type: ignore[no-untyped-def]
        raise NotImplementedError("ScriptedSTT only streams")

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        return _ScriptedSpeechStream(stt=self, conn_options=conn_options)


class _ScriptedSpeechStream(stt.RecognizeStream):
    def __init__(self, *, stt: ScriptedSTT, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options)
        self._scripted = stt

    async def _run(self) -> None:
        speaking = False
        silence = 0.0
        speech_started = 0.0
        last_speech_end = 0.0
        pending: list[asyncio.Task[None]] = []
        async for frame in self._input_ch:
            if not isinstance(frame, rtc.AudioFrame):
                continue
            now = time.time()
            if is_speech(frame):
                if not speaking:
                    speaking, speech_started = True, now
                    request_id = uuid.uuid4().hex[:12]
                    self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH, request_id=request_id))
                silence, last_speech_end = 0.0, now
            elif speaking:
                silence += frame.duration
                if silence >= END_SILENCE:
                    speaking = False
                    transcript, confidence = self._scripted.next_expected()
                    pending.append(
                        asyncio.create_task(self._finalize(request_id, transcript, confidence, speech_started, last_speech_end))
                    )
        await asyncio.gather(*pending, return_exceptions=True)

    async def _finalize(self, request_id: str, transcript: str, confidence: float, started: float, ended: float) -> None:
        await asyncio.sleep(self._scripted.final_delay.draw())
        speech = stt.SpeechData(language="en", text=transcript, confidence=confidence, start_time=0.0, end_time=ended - started)
        self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.FINAL_TRANSCRIPT, request_id=request_id, alternatives=[speech]))
        self._event_ch.send_nowait(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH, request_id=request_id, speech_end_time=ended))
        self._event_ch.send_nowait(
            stt.SpeechEvent(
                type=stt.SpeechEventType.RECOGNITION_USAGE,
                request_id=request_id,
                recognition_usage=stt.RecognitionUsage(audio_duration=round(ended - started + END_SILENCE, 3)),
            )
        )

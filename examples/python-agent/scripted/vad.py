"""A voice activity detector on frame energy: speech after `min_speech` of loud frames, its end
after `min_silence` of quiet ones (the SDK backdates the end of speech by the silence it reports)."""

from __future__ import annotations

import time

from livekit import rtc
from livekit.agents import vad

from .audio import is_speech


class EnergyVAD(vad.VAD):
    def __init__(self, *, min_speech: float = 0.06, min_silence: float = 0.12) -> None:
        super().__init__(capabilities=vad.VADCapabilities(update_interval=0.02))
        self.min_speech, self.min_silence = min_speech, min_silence

    @property
    def model(self) -> str:
        return "energy"

    @property
    def provider(self) -> str:
        return "voicetrace"

    def stream(self) -> vad.VADStream:
        return _EnergyVADStream(self)


class _EnergyVADStream(vad.VADStream):
    def __init__(self, detector: EnergyVAD) -> None:
        super().__init__(detector)
        self._detector = detector

    async def _main_task(self) -> None:
        speaking = False
        speech, silence = 0.0, 0.0
        samples = 0
        voiced: list[rtc.AudioFrame] = []
        async for frame in self._input_ch:
            if not isinstance(frame, rtc.AudioFrame):
                continue
            started = time.perf_counter()
            loud = is_speech(frame)
            samples += frame.samples_per_channel
            if loud:
                speech, silence = speech + frame.duration, 0.0
                voiced.append(frame)
            else:
                silence += frame.duration
                if not speaking:
                    speech, voiced = 0.0, []
            event = dict(
                samples_index=samples,
                timestamp=time.time(),
                speech_duration=speech,
                silence_duration=silence,
            )
            self._event_ch.send_nowait(
                vad.VADEvent(
                    type=vad.VADEventType.INFERENCE_DONE,
                    frames=[frame],
                    probability=1.0 if loud else 0.0,
                    inference_duration=time.perf_counter() - started,
                    speaking=speaking or loud,
                    raw_accumulated_speech=speech,
                    raw_accumulated_silence=silence,
                    **event,
                )
            )
            if not speaking and speech >= self._detector.min_speech:
                speaking = True
                self._event_ch.send_nowait(
                    vad.VADEvent(type=vad.VADEventType.START_OF_SPEECH, frames=list(voiced), speaking=True, **event)
                )
            elif speaking and silence >= self._detector.min_silence:
                speaking = False
                self._event_ch.send_nowait(
                    vad.VADEvent(type=vad.VADEventType.END_OF_SPEECH, frames=voiced, speaking=False, **event)
                )
                speech, voiced = 0.0, []

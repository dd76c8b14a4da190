"""Scripted, offline providers that drive a real livekit-agents AgentSession.

The Python counterparts of @voicetrace/scripted-plugins (packages/scripted-plugins): a caller
whose microphone streams 20 ms frames (a tone while speaking), an energy VAD, a streaming STT
that transcribes what the caller was scripted to say, an LLM that answers from a script with
usage, and a TTS that synthesizes silence of a plausible length. No network, no keys.
"""

from .audio import SimulatedAudioOutput
from .llm import ScriptedLLM, ScriptedReply
from .stt import ScriptedSTT
from .tts import ScriptedTTS
from .user import ScriptedUser
from .vad import EnergyVAD

__all__ = [
    "EnergyVAD",
    "ScriptedLLM",
    "ScriptedReply",
    "ScriptedSTT",
    "ScriptedTTS",
    "ScriptedUser",
    "SimulatedAudioOutput",
]

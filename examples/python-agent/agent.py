"""A LiveKit voice agent in Python whose traces voicetrace's Collector shapes: the only voicetrace
part is the three lines marked below (a tracer provider exporting OTLP to the Collector, handed to
the SDK with the session id). Run it as any LiveKit agent (`python agent.py dev`, or `start`), with
the Collector started by `otelcol $(collector-config/config-flags.sh)` and VOICETRACE_PYTHON_AGENTS=true.
The providers here are the offline scripted ones of this folder; use your own (deepgram, openai, ...)."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from livekit.agents import AgentServer, AgentSession, JobContext, cli, telemetry

from conversation import REPLIES, FrontDesk
from scripted import EnergyVAD, ScriptedLLM, ScriptedSTT, ScriptedTTS

server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    # --- voicetrace: the SDK's own spans to the Collector (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME,
    # OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=production), the session id on every span
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    telemetry.set_tracer_provider(provider, metadata={"session.id": ctx.room.name})
    # ---

    async def flush_spans() -> None:  # the last spans leave before the job process ends
        provider.force_flush()

    ctx.add_shutdown_callback(flush_spans)

    session = AgentSession(stt=ScriptedSTT(), vad=EnergyVAD(), llm=ScriptedLLM(REPLIES), tts=ScriptedTTS())
    await session.start(agent=FrontDesk(), room=ctx.room)


if __name__ == "__main__":
    cli.run_app(server)

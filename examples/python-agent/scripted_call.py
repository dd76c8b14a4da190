"""One offline call of the demo's script on a real livekit-agents AgentSession, traced by the SDK
itself and exported over OTLP/HTTP (to voicetrace's Collector), as a Python agent would be.

    python scripted_call.py --session-id call-1 [--otlp http://127.0.0.1:4318] [--capture spans.json] [--summary out.json]

--otlp     OTLP/HTTP base URL (default: OTEL_EXPORTER_OTLP_ENDPOINT); spans go to <url>/v1/traces
--capture  also write every span as one OTLP/JSON ExportTraceServiceRequest (the fixtures' format)
--summary  write what the SDK itself measured (its metrics events), for tests to compare against
The call runs inside the SDK's fake job context, so the spans carry the job stamps (room_id,
job_id, gen_ai.conversation.id) that a real job's spans carry.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import time

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from livekit.agents import AgentSession, MetricsCollectedEvent, telemetry
from livekit.agents.testing import fake_job_context

from capture import write_otlp_json
from conversation import CALLER_LINES, REPLIES, FrontDesk
from scripted import EnergyVAD, ScriptedLLM, ScriptedSTT, ScriptedTTS, ScriptedUser, SimulatedAudioOutput


async def wait_for_state(session: AgentSession, state: str, timeout: float = 20.0) -> None:
    done = asyncio.get_running_loop().create_future()

    def on_change(ev) -> None:  # type: ignore[no-untyped-def]
        if ev.new_state == state and not done.done():
            done.set_result(None)

    session.on("agent_state_changed", on_change)
    try:
        await asyncio.wait_for(done, timeout)
    finally:
        session.off("agent_state_changed", on_change)


async def run_call(session_id: str, metrics: list[dict]) -> None:
    stt = ScriptedSTT()
    user = ScriptedUser(stt)
    session: AgentSession = AgentSession(
        stt=stt,
        vad=EnergyVAD(),
        llm=ScriptedLLM(REPLIES),
        tts=ScriptedTTS(),
        # STT endpointing (no turn-detector model, which would be downloaded), VAD interruptions
        turn_handling={"turn_detection": "stt", "endpointing": {"min_delay": 0.3, "max_delay": 3.0}, "interruption": {"mode": "vad"}},
    )
    session.on("metrics_collected", lambda ev: metrics.append(ev.metrics.model_dump(mode="json")))
    session.input.audio = user.audio_input
    session.output.audio = SimulatedAudioOutput()
    await session.start(agent=FrontDesk(), record=False)
    user.start()
    for line in CALLER_LINES:
        await asyncio.sleep(0.3)
        replied = asyncio.create_task(wait_for_state(session, "speaking"))
        await user.say(line)
        await replied
        await wait_for_state(session, "listening")
    await asyncio.sleep(0.3)
    await user.stop()
    await session.aclose()


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--session-id", required=True)
    args.add_argument("--otlp", default=os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    args.add_argument("--capture")
    args.add_argument("--summary")
    opts = args.parse_args()
    logging.basicConfig(level=logging.WARNING)

    # the three lines a user adds to their agent (README.md): a provider with an OTLP exporter,
    # adopted by the SDK with the session id stamped on every span
    provider = TracerProvider(resource=Resource.create({"service.name": "python-agent", "deployment.environment.name": "test"}))
    if opts.otlp:
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{opts.otlp.rstrip('/')}/v1/traces")))
    captured = InMemorySpanExporter()
    if opts.capture:
        provider.add_span_processor(SimpleSpanProcessor(captured))
    telemetry.set_tracer_provider(provider, metadata={"session.id": opts.session_id})

    metrics: list[dict] = []
    started = time.time()

    async def call() -> None:
        with fake_job_context(job_id=f"job-{opts.session_id}"):
            await run_call(opts.session_id, metrics)

    asyncio.run(call())
    provider.force_flush()
    provider.shutdown()
    if opts.capture:
        write_otlp_json(captured.get_finished_spans(), opts.capture)
    if opts.summary:
        with open(opts.summary, "w") as f:
            json.dump({"session_id": opts.session_id, "started": started, "metrics": metrics}, f, indent=1)


if __name__ == "__main__":
    main()

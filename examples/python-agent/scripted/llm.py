"""A streaming chat model, offline: it answers from a script after a seeded time to first token,
streams word by word, emits tool calls, and reports usage (prompt, completion, cached prompt
tokens) in its last chunk like a real provider, so the SDK's lk.llm_metrics and gen_ai.* are real."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import APIConnectOptions, llm
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

from .random_latency import Latency


@dataclass
class ScriptedReply:
    """`when`: a substring (any case) of the newest user message, or `tool:<name>` for the output of that tool."""

    when: str
    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def count_tokens(text: str) -> int:
    """About 4 characters per token, as a provider's tokenizer would report."""
    return max(1, math.ceil(len(text) / 4))


class ScriptedLLM(llm.LLM):
    def __init__(self, replies: list[ScriptedReply], *, seed: int = 43, provider: str = "openai", model: str = "gpt-4o-mini") -> None:
        super().__init__()
        self.replies = replies
        self._provider, self._model = provider, model
        self.ttft = Latency(seed, 250, 650)
        self.inter_token = Latency(seed + 100, 8, 20)
        # prompt tokens of the previous request: a provider's prompt cache would hold them
        self.previous_prompt_tokens = 0

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        return _ScriptedLLMStream(self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options)

    def reply_for(self, chat_ctx: llm.ChatContext) -> ScriptedReply:
        for item in reversed(chat_ctx.items):
            if item.type == "function_call_output":
                key = f"tool:{item.name}"
                return next((r for r in self.replies if r.when == key), ScriptedReply(when=key, text="Done."))
            if item.type == "message" and item.role == "user":
                said = (item.text_content or "").lower()
                return next(
                    (r for r in self.replies if not r.when.startswith("tool:") and r.when in said),
                    ScriptedReply(when="", text="Sorry, could you say that again?"),
                )
        return ScriptedReply(when="", text="Hello, how can I help?")


class _ScriptedLLMStream(llm.LLMStream):
    def __init__(self, model: ScriptedLLM, **kwargs: Any) -> None:
        super().__init__(model, **kwargs)
        self._scripted = model

    async def _run(self) -> None:
        request_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        reply = self._scripted.reply_for(self._chat_ctx)
        prompt = sum(count_tokens(json.dumps(item.model_dump(mode="json", exclude={"metrics"}))) for item in self._chat_ctx.items)
        cached = min(self._scripted.previous_prompt_tokens, prompt) // 64 * 64
        self._scripted.previous_prompt_tokens = prompt
        await asyncio.sleep(self._scripted.ttft.draw())
        words = reply.text.split(" ") if reply.text else []
        for i, word in enumerate(words):
            if i:
                await asyncio.sleep(self._scripted.inter_token.draw())
            delta = llm.ChoiceDelta(role="assistant", content=word if i == len(words) - 1 else word + " ")
            self._event_ch.send_nowait(llm.ChatChunk(id=request_id, delta=delta))
        calls = [
            llm.FunctionToolCall(name=name, arguments=json.dumps(args), call_id=f"call_{uuid.uuid4().hex[:8]}")
            for name, args in reply.tool_calls
        ]
        if calls:
            self._event_ch.send_nowait(llm.ChatChunk(id=request_id, delta=llm.ChoiceDelta(role="assistant", tool_calls=calls)))
        completion = count_tokens(reply.text) + sum(count_tokens(c.arguments) + 4 for c in calls)
        usage = llm.CompletionUsage(
            completion_tokens=completion, prompt_tokens=prompt, prompt_cached_tokens=cached, total_tokens=prompt + completion
        )
        self._event_ch.send_nowait(llm.ChatChunk(id=request_id, usage=usage))

"""The demo call's script, as examples/demo/src/conversation.ts has it: the same caller lines, the
same scripted replies, the same two agents (a front desk with a weather tool that hands billing
questions to billing, and billing, which hands back)."""

from __future__ import annotations

import asyncio

from livekit.agents import Agent, RunContext, function_tool

from scripted import ScriptedReply

REPLIES = [
    ScriptedReply(when="weather", tool_calls=[("get_weather", {"city": "Paris"})]),
    ScriptedReply(when="tool:get_weather", text="It is eighteen degrees and sunny in Paris right now. Anything else?"),
    ScriptedReply(
        when="opening hours",
        text=(
            "Our stores open at nine in the morning and close at eight in the evening from Monday to Saturday. "
            "On Sundays we open at ten and close at six. Public holidays can differ, so check the store page. "
            "We also have late opening until ten on the first Friday of every month."
        ),
    ),
    ScriptedReply(when="bill", tool_calls=[("transfer_to_billing", {"reason": "billing question"})]),
    ScriptedReply(when="tool:transfer_to_billing", text="You are now with billing. How can I help with your bill?"),
    ScriptedReply(
        when="charged twice",
        text="I can see two payments this month. The second one is a pending authorization and will drop off within three days.",
    ),
    ScriptedReply(when="front desk", tool_calls=[("transfer_to_front_desk", {})]),
    ScriptedReply(when="tool:transfer_to_front_desk", text="Hello again, this is the front desk of Acme. What else can I do for you?"),
    ScriptedReply(when="that is all", text="You are welcome. Have a great day, goodbye!"),
]

# The caller's lines (the demo's, without its barge-in: see README.md, "What is derived").
CALLER_LINES = [
    "Hi, what is the weather like in Paris today?",
    "Great, and what are your opening hours?",
    "Sorry, actually I have a question about my bill.",
    "Why was I charged twice this month?",
    "Thanks, that is all.",
]


class Billing(Agent):
    def __init__(self) -> None:
        super().__init__(id="billing", instructions="You are the billing specialist. Answer questions about invoices and payments.")

    @function_tool
    async def transfer_to_front_desk(self, context: RunContext) -> tuple[Agent, str]:
        """Transfer the caller back to the front desk."""
        return FrontDesk(), "Transferred to the front desk."


class FrontDesk(Agent):
    def __init__(self, tool_seconds: float = 0.12) -> None:
        super().__init__(id="front_desk", instructions="You are the front desk of Acme. Be brief. Hand billing questions to billing.")
        self._tool_seconds = tool_seconds

    @function_tool
    async def get_weather(self, context: RunContext, city: str) -> dict[str, object]:
        """Current weather for a city."""
        await asyncio.sleep(self._tool_seconds)
        return {"city": city, "temperatureC": 18, "condition": "sunny"}

    @function_tool
    async def transfer_to_billing(self, context: RunContext, reason: str) -> tuple[Agent, str]:
        """Transfer the caller to the billing specialist."""
        return Billing(), "Transferred to billing."

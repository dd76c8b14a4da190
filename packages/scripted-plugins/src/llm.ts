import { APIStatusError, DEFAULT_API_CONNECT_OPTIONS, llm, type APIConnectOptions } from '@livekit/agents';
import { SeededRandom, drawLatency, sleep, type LatencyRange } from './random.js';
import { withDefaults } from './options.js';

/** One scripted reply: what the model answers when `when` matches the conversation. */
export interface ScriptedReply {
  /**
   * Substring (case-insensitive) of the newest user message; `tool:<name>` instead
   * matches when the newest input is that tool's output.
   */
  when: string;
  /** Text streamed back token by token. */
  text?: string | undefined;
  /** Tool calls emitted after the text. */
  toolCalls?: Array<{ name: string; args: Record<string, unknown> }> | undefined;
}

/** Options of {@link ScriptedLLM}. */
export interface ScriptedLLMOptions {
  replies: ScriptedReply[];
  /** Reply when nothing matches. */
  fallback?: string | undefined;
  provider?: string | undefined;
  model?: string | undefined;
  /** Time to first token, in ms. */
  ttft?: LatencyRange | undefined;
  /** Time between streamed tokens, in ms. */
  interTokenMs?: LatencyRange | undefined;
  /** A stall after the first token of each spoken reply, in ms (a provider hiccup mid-stream). Default 0. */
  stallAfterFirstTokenMs?: number | undefined;
  /**
   * Requests (1-based, in the order `chat()` was called) whose first attempt fails with a retryable
   * 503 before any token, as a provider outage does: the SDK reports the error and retries. Default none.
   */
  failRequests?: number[] | undefined;
  /**
   * Extra time to first token (ms) for a request answering the user's words (not a tool's output):
   * e.g. a slow provider on one chosen turn. Default none.
   */
  extraTtftMs?: ((userText: string) => number) | undefined;
  seed?: number | undefined;
}

/** Rough token count, as a provider's tokenizer would report (about 4 characters per token). */
export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * A streaming chat model, offline: it answers from a script, streams its reply
 * word by word after a seeded time to first token, emits tool calls, and reports
 * usage (prompt, completion and cached prompt tokens) in its final chunk like a
 * real provider, so the SDK's `llm_metrics` and the GenAI span attributes are real.
 */
export class ScriptedLLM extends llm.LLM {
  readonly options: Required<ScriptedLLMOptions>;
  readonly random: SeededRandom;
  /** Prompt tokens of the previous request: a provider's prompt cache would hold them. */
  previousPromptTokens = 0;
  /** `chat()` calls so far. */
  requests = 0;

  constructor(options: ScriptedLLMOptions) {
    super();
    this.options = withDefaults<Required<ScriptedLLMOptions>>(
      {
        replies: options.replies,
        fallback: 'Sorry, could you say that again?',
        provider: 'openai',
        model: 'gpt-4o-mini',
        ttft: { minMs: 250, maxMs: 650 },
        interTokenMs: { minMs: 8, maxMs: 20 },
        stallAfterFirstTokenMs: 0,
        failRequests: [],
        extraTtftMs: () => 0,
        seed: 11,
      },
      options,
    );
    this.random = new SeededRandom(this.options.seed);
  }

  label(): string {
    return 'voicetrace.ScriptedLLM';
  }

  override get model(): string {
    return this.options.model;
  }

  override get provider(): string {
    return this.options.provider;
  }

  chat({
    chatCtx,
    toolCtx,
    connOptions,
  }: {
    chatCtx: llm.ChatContext;
    toolCtx?: llm.ToolContextLike;
    connOptions?: APIConnectOptions;
  }): llm.LLMStream {
    const failFirstAttempt = this.options.failRequests.includes(++this.requests);
    return new ScriptedLLMStream(this, { chatCtx, toolCtx, connOptions }, failFirstAttempt);
  }

  /** @internal Picks the reply for the newest user message or tool output. */
  pick(chatCtx: llm.ChatContext): ScriptedReply {
    const key = newestInput(chatCtx).toLowerCase();
    const isTool = key.startsWith('tool:');
    return (
      this.options.replies.find((reply) => {
        const when = reply.when.toLowerCase();
        return isTool ? key.startsWith(`${when}:`) : !when.startsWith('tool:') && key.includes(when);
      }) ?? {
        when: '',
        text: this.options.fallback,
      }
    );
  }
}

function newestInput(chatCtx: llm.ChatContext): string {
  for (let i = chatCtx.items.length - 1; i >= 0; i--) {
    const item = chatCtx.items[i]!;
    if (item.type === 'message' && item.role === 'user') return item.textContent ?? '';
    if (item.type === 'function_call_output') return `tool:${item.name}:${item.output}`;
  }
  return '';
}

class ScriptedLLMStream extends llm.LLMStream {
  private readonly owner: ScriptedLLM;
  /** The next attempt fails with a retryable 503 (the SDK calls `run()` again on retry). */
  private failNextAttempt: boolean;

  constructor(
    owner: ScriptedLLM,
    params: { chatCtx: llm.ChatContext; toolCtx?: llm.ToolContextLike; connOptions?: APIConnectOptions },
    failFirstAttempt = false,
  ) {
    super(owner, {
      chatCtx: params.chatCtx,
      toolCtx: params.toolCtx,
      connOptions: params.connOptions ?? DEFAULT_API_CONNECT_OPTIONS,
    });
    this.owner = owner;
    this.failNextAttempt = failFirstAttempt;
  }

  protected async run(): Promise<void> {
    if (this.failNextAttempt) {
      this.failNextAttempt = false;
      await sleep(50);
      throw new APIStatusError({ message: 'upstream unavailable (scripted 503)', options: { statusCode: 503, retryable: true } });
    }
    const reply = this.owner.pick(this.chatCtx);
    const id = `chatcmpl_${Math.floor(this.owner.random.next() * 1e9).toString(36)}`;
    const promptTokens = countTokens(JSON.stringify(this.chatCtx.toJSON()));
    const cached = Math.floor(Math.min(this.owner.previousPromptTokens, promptTokens) / 64) * 64;
    this.owner.previousPromptTokens = promptTokens;

    const input = newestInput(this.chatCtx);
    const extraMs = input.startsWith('tool:') ? 0 : Math.max(0, this.owner.options.extraTtftMs(input) || 0);
    await sleep(drawLatency(this.owner.random, this.owner.options.ttft) + extraMs);
    let completionTokens = 0;
    const words = (reply.text ?? '').split(/(?<= )/);
    for (const [i, word] of words.entries()) {
      if (this.abortController.signal.aborted) return;
      this.queue.put({ id, delta: { role: 'assistant', content: word } });
      completionTokens += countTokens(word);
      await sleep(drawLatency(this.owner.random, this.owner.options.interTokenMs) + (i === 0 && word ? this.owner.options.stallAfterFirstTokenMs : 0));
    }
    if (reply.toolCalls?.length) {
      const calls = reply.toolCalls.map((call, index) =>
        llm.FunctionCall.create({ callId: `${id}_call_${index}`, name: call.name, args: JSON.stringify(call.args) }),
      );
      completionTokens += countTokens(JSON.stringify(reply.toolCalls));
      this.queue.put({ id, delta: { role: 'assistant', toolCalls: calls } });
    }
    this.queue.put({
      id,
      usage: {
        promptTokens,
        completionTokens,
        promptCachedTokens: cached,
        totalTokens: promptTokens + completionTokens,
      },
    });
  }
}

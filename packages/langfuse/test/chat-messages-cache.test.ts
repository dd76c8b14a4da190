import { describe, expect, it } from 'vitest';
import { ChatMessagesCache, chatMessages } from '../src/mapping.js';

// A call's LLM requests repeat the conversation so far and append to it: the cache converts only what
// each request adds, and must give exactly what a whole conversion gives, whatever the next request is.
const system = JSON.stringify([{ type: 'text', content: 'You are the front desk.' }]);
const user = (text: string) => ({ role: 'user', parts: [{ type: 'text', content: text }] });
const assistant = (text: string) => ({ role: 'assistant', parts: [{ type: 'text', content: text }] });
const toolCall = (id: string) => ({ role: 'assistant', parts: [{ type: 'tool_call', id, name: 'get_weather', arguments: { city: 'Paris' } }] });
const toolResult = (id: string) => ({ role: 'tool', parts: [{ type: 'tool_call_response', id, response: '{"temperatureC":18}' }] });

describe('ChatMessagesCache', () => {
  it('converts a growing conversation exactly as a whole conversion does', () => {
    const cache = new ChatMessagesCache();
    const messages: unknown[] = [];
    for (let turn = 0; turn < 12; turn++) {
      messages.push(user(`question ${turn} — é 😀`));
      if (turn % 4 === 1) messages.push(toolCall(`c${turn}`), toolResult(`c${turn}`));
      const input = JSON.stringify(messages);
      expect(cache.chatMessages('call-1', input, system)).toBe(chatMessages(input, system));
      messages.push(assistant(`answer ${turn}`));
    }
  });

  it('converts whole what does not extend the previous request: a trimmed context, other instructions, another call', () => {
    const cache = new ChatMessagesCache();
    const a = JSON.stringify([user('one'), assistant('two')]);
    const b = JSON.stringify([user('one'), assistant('two'), user('three')]);
    const trimmed = JSON.stringify([assistant('two'), user('three'), assistant('four'), user('five')]);
    expect(cache.chatMessages('c', a, system)).toBe(chatMessages(a, system));
    expect(cache.chatMessages('c', b, undefined)).toBe(chatMessages(b, undefined));
    expect(cache.chatMessages('c', trimmed, undefined)).toBe(chatMessages(trimmed, undefined));
    expect(cache.chatMessages('other', b, system)).toBe(chatMessages(b, system));
    expect(cache.chatMessages('c', '[]', system)).toBe(chatMessages('[]', system));
    expect(cache.chatMessages('c', b, system)).toBe(chatMessages(b, system));
    expect(cache.chatMessages('c', 'not json', system)).toBe(chatMessages('not json', system));
    expect(cache.chatMessages('c', undefined, system)).toBe(chatMessages(undefined, system));
  });

  it('keeps a bounded number of calls', () => {
    const cache = new ChatMessagesCache(2);
    const input = JSON.stringify([user('hi')]);
    for (const call of ['a', 'b', 'c', 'a']) expect(cache.chatMessages(call, input, system)).toBe(chatMessages(input, system));
    expect((cache as unknown as { calls: Map<string, unknown> }).calls.size).toBe(2);
  });
});

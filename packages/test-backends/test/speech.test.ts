// A scripted caller's voice: Debian's espeak-ng speaks, sox resamples to LiveKit's 48 kHz.
import { describe, expect, it } from 'vitest';
import { backendOrSkip, speechTools, synthesizeSpeech } from '../src/index.js';

const espeak = await backendOrSkip('speech');

describe.skipIf(!espeak)('speech tools (espeak-ng + sox)', () => {
  it('finds both binaries', async () => {
    const tools = await speechTools();
    expect(tools.espeakNg).toBe(espeak);
    expect(tools.sox).toMatch(/sox$/);
  });

  it('speaks text as 16-bit mono PCM at the requested rate, deterministically', async () => {
    const a = await synthesizeSpeech('What is the weather in Paris tomorrow?');
    expect(a.sampleRate).toBe(48_000);
    expect(a.durationMs).toBeGreaterThan(1000);
    expect(a.durationMs).toBeLessThan(6000);
    let peak = 0;
    for (const s of a.samples) peak = Math.max(peak, Math.abs(s));
    expect(peak, 'not silence').toBeGreaterThan(3000);
    const b = await synthesizeSpeech('What is the weather in Paris tomorrow?');
    expect(Buffer.from(b.samples.buffer).equals(Buffer.from(a.samples.buffer))).toBe(true);
    const low = await synthesizeSpeech('What is the weather in Paris tomorrow?', { sampleRate: 16_000 });
    expect(Math.abs(low.samples.length * 3 - a.samples.length)).toBeLessThan(30);
  });
});

import { ATTR } from '@voicetrace/conventions';
import { DEFAULT_PRICES, PriceBook, type ModelPrice, type PriceTable } from '@voicetrace/core';
import { attr, cache, float, set, spanNameIs, str, where } from '../ottl.js';
import { LLM_METRICS, TTS_METRICS } from '../sdk-shape.js';
import type { StatementGroup } from './group.js';

/** The price fields, as keys of the map a matching table entry writes into the span's cache. */
const PRICE_FIELDS = ['inputPerMTok', 'cachedInputPerMTok', 'outputPerMTok', 'audioInputPerMTok', 'audioOutputPerMTok', 'perMCharacters', 'perAudioMinute'] as const;
type PriceField = (typeof PRICE_FIELDS)[number];

/** Usage slots in the cache, filled per stage from the SDK's metrics JSON. */
const USAGE = { input: 'usage_input', cached: 'usage_cached', output: 'usage_output', characters: 'usage_characters' } as const;

/** The table's prices as an OTTL map literal (every field present: a missing key would make the math fail). */
function priceMap(price: ModelPrice): string {
  const value = (field: PriceField): number => (field === 'cachedInputPerMTok' ? price.cachedInputPerMTok ?? price.inputPerMTok : price[field]) ?? 0;
  return `{${PRICE_FIELDS.map((field) => `${str(field)}: ${float(value(field))}`).join(', ')}}`;
}

/** The match of one table key on the span's `provider/model` (cached lower case), as PriceBook.priceOf reads the table. */
function keyMatches(slot: string, key: string): string {
  return key.endsWith('*') ? `IsMatch(${cache(slot)}, ${str(`^${escapeRegex(key.slice(0, -1))}`)})` : `${cache(slot)} == ${str(key)}`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The table entries in the order that makes the last match the one PriceBook.priceOf picks
 * (packages/core/src/prices.ts): LiveKit Inference's `livekit` + `provider/model` priced as the model
 * it runs only when nothing else matches, then prefix entries shortest first, then exact entries.
 */
function orderedEntries(table: PriceTable): Array<{ key: string; price: ModelPrice; via: 'key' | 'livekit_model' }> {
  const runsModels = pricesModelsLiveKitRuns(table);
  const entries = Object.entries(table).map(([key, price]) => ({ key: key.toLowerCase(), price }));
  const byPriority = (a: { key: string }, b: { key: string }) => {
    const prefixA = a.key.endsWith('*');
    const prefixB = b.key.endsWith('*');
    if (prefixA !== prefixB) return prefixA ? -1 : 1;
    return prefixA ? a.key.length - b.key.length : a.key.localeCompare(b.key);
  };
  const sorted = [...entries].sort(byPriority);
  return [...(runsModels ? sorted.map((e) => ({ ...e, via: 'livekit_model' as const })) : []), ...sorted.map((e) => ({ ...e, via: 'key' as const }))];
}

/** Whether PriceBook prices LiveKit Inference (`livekit`, model `provider/model`) as the model it runs: asked of PriceBook itself. */
function pricesModelsLiveKitRuns(table: PriceTable): boolean {
  const [key] = Object.keys(table).filter((k) => !k.endsWith('*'));
  return key !== undefined && new PriceBook(table, false).priceOf({ provider: 'livekit', model: key }) !== undefined;
}

/**
 * Per-request cost from the dated price table (`DEFAULT_PRICES` of @voicetrace/core), with
 * PriceBook.cost's formula: uncached input, cached input (at the input price when the table has no
 * cached price), output, characters; priced only when the table names the model.
 */
export function costGroup(table: PriceTable = DEFAULT_PRICES): StatementGroup {
  const usage = (slot: keyof typeof USAGE) => cache(USAGE[slot]);
  const price = (field: PriceField) => cache('price', field);
  const statements: Array<string | { comment: string }> = [
    { comment: 'the price key: provider/model in lower case' },
    where(
      set(cache('price_key'), `Concat([ToLowerCase(${attr(ATTR.PROVIDER_NAME)}), ToLowerCase(${attr(ATTR.REQUEST_MODEL)})], "/")`),
      `IsString(${attr(ATTR.PROVIDER_NAME)})`,
      `IsString(${attr(ATTR.REQUEST_MODEL)})`,
    ),
  ];
  if (pricesModelsLiveKitRuns(table)) {
    statements.push(where(set(cache('price_model'), `ToLowerCase(${attr(ATTR.REQUEST_MODEL)})`), `${cache('price_key')} != nil`, `IsMatch(${cache('price_key')}, "^livekit/")`));
  }
  for (const entry of orderedEntries(table)) {
    statements.push({ comment: `${entry.key}${entry.via === 'livekit_model' ? ' (run by LiveKit Inference)' : ''}: list prices as of ${entry.price.asOf}` });
    statements.push(where(set(cache('price'), priceMap(entry.price)), `${cache(entry.via === 'key' ? 'price_key' : 'price_model')} != nil`, keyMatches(entry.via === 'key' ? 'price_key' : 'price_model', entry.key)));
  }
  const priced = `IsMap(${cache('price')})`;
  const llm = `span.name == ${str(LLM_METRICS.span)}`;
  const tts = `span.name == ${str(TTS_METRICS.span)}`;
  statements.push(
    { comment: 'usage: LLM tokens (the SDK\'s gen_ai.usage.* ints, cached tokens from its metrics JSON), TTS characters and tokens' },
    set(usage('input'), '0.0'),
    set(usage('cached'), '0.0'),
    set(usage('output'), '0.0'),
    set(usage('characters'), '0.0'),
    where(set(usage('input'), `Double(${attr(ATTR.USAGE_INPUT_TOKENS)})`), `IsInt(${attr(ATTR.USAGE_INPUT_TOKENS)})`),
    where(set(usage('output'), `Double(${attr(ATTR.USAGE_OUTPUT_TOKENS)})`), `IsInt(${attr(ATTR.USAGE_OUTPUT_TOKENS)})`),
    where(set(usage('cached'), `Double(${attr(ATTR.USAGE_CACHE_READ)})`), llm, `IsInt(${attr(ATTR.USAGE_CACHE_READ)})`),
    where(set(usage('characters'), `Double(${attr(ATTR.TTS_CHARACTERS)})`), tts, `IsInt(${attr(ATTR.TTS_CHARACTERS)})`),
    { comment: 'PriceBook.cost: uncached input never below 0; per million tokens/characters' },
    where(set(cache('uncached'), `${usage('input')} - ${usage('cached')}`), priced),
    where(set(cache('uncached'), '0.0'), priced, `${cache('uncached')} < 0.0`),
    where(
      set(
        attr(ATTR.COST),
        `(${cache('uncached')} * ${price('inputPerMTok')} + ${usage('cached')} * ${price('cachedInputPerMTok')} + ${usage('output')} * ${price('outputPerMTok')} + ${usage('characters')} * ${price('perMCharacters')}) / 1000000.0`,
      ),
      priced,
    ),
  );
  return {
    comment: `${ATTR.COST}: each LLM and TTS request at table prices (DEFAULT_PRICES, packages/core/src/prices.ts)`,
    condition: spanNameIs(LLM_METRICS.span, TTS_METRICS.span),
    statements,
  };
}

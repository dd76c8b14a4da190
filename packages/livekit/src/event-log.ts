import { voice } from '@livekit/agents';
import { knownStrings, packRecord, unpackRecord, type PackedRecord } from '@voicetrace/core/internal';

/**
 * Events packed together (see packRecord): one event alone is smaller as an object than packed, 32
 * share one packing's arrays. The newest, fewer than this, stay as the SDK made them.
 */
const CHUNK = 32;
/** The depth of an event's fields in a packed chunk (the chunk is 0, its events 1). */
const EVENT_FIELDS = 2;

// what most events repeat, named in a packing's layout rather than held (@livekit/agents 1.9.0
// dist/voice/events.d.ts:32-41: UserState, AgentState, SpeechSource; the event types)
knownStrings([...Object.values(voice.AgentSessionEventTypes), 'speaking', 'listening', 'away', 'initializing', 'idle', 'thinking', 'say', 'generate_reply', 'tool_response']);

/** Options of {@link SessionEventLog}. */
export interface SessionEventLogOptions {
  /** Events kept; the oldest are dropped (and counted) beyond it. Default 2000. */
  maxEvents?: number | undefined;
}

/**
 * The session's events as the SDK's report wants them (`AgentEvent`s), kept
 * by voicetrace because the SDK keeps none unless recording is on. Bounded:
 * a long call keeps the newest `maxEvents`, and says how many it dropped.
 * An event that holds a handle that would pin memory (`speechHandle`, raw
 * audio), which the report leaves out anyway, is kept as a shallow copy
 * without it. Older events are held packed, 32 at a time (the chat messages,
 * errors and tool calls they carry by reference): {@link list} gives back equal events.
 */
export class SessionEventLog {
  /** The older events, oldest first: packed, or as they were when they could not be. */
  private readonly chunks: Array<PackedRecord | voice.AgentEvent[]> = [];
  /** Events of the oldest chunk dropped past the bound. */
  private skip = 0;
  private recent: voice.AgentEvent[] = [];
  private readonly max: number;
  private droppedCount = 0;

  constructor(options: SessionEventLogOptions = {}) {
    this.max = Math.max(1, options.maxEvents ?? 2000);
  }

  /** Starts recording `session`'s events; returns a function that stops. */
  attach(session: voice.AgentSession): () => void {
    const names = Object.values(voice.AgentSessionEventTypes).filter(
      // metrics are too noisy for the report (the SDK's serializer drops them too)
      (name) => name !== voice.AgentSessionEventTypes.MetricsCollected && name !== voice.AgentSessionEventTypes.SessionUsageUpdated,
    );
    const listener = (event: voice.AgentEvent): void => this.add(event);
    for (const name of names) session.on(name as never, listener as never);
    return () => {
      for (const name of names) session.off(name as never, listener as never);
    };
  }

  add(event: voice.AgentEvent): void {
    if (!event || typeof event !== 'object') return;
    this.recent.push(withoutHandles(event));
    if (this.recent.length === CHUNK) {
      // an event's own fields are packed; what it points at (a chat item, an error, tool calls) is
      // the SDK's, also in the session's history: kept by reference, never copied
      this.chunks.push(packRecord(this.recent, { opaque: true, referencesFrom: EVENT_FIELDS }) ?? this.recent);
      this.recent = [];
    }
    if (this.kept > this.max) this.dropOldest();
  }

  /** The kept events, oldest first. */
  list(): voice.AgentEvent[] {
    const out: voice.AgentEvent[] = [];
    for (const [i, chunk] of this.chunks.entries()) {
      const events = Array.isArray(chunk) ? chunk : (unpackRecord(chunk) as voice.AgentEvent[]);
      out.push(...(i === 0 ? events.slice(this.skip) : events));
    }
    out.push(...this.recent);
    return out;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  /** Events kept: every chunk holds CHUNK of them. */
  private get kept(): number {
    return this.chunks.length * CHUNK - this.skip + this.recent.length;
  }

  private dropOldest(): void {
    this.droppedCount += 1;
    if (!this.chunks.length) {
      this.recent.shift();
      return;
    }
    this.skip += 1;
    if (this.skip === CHUNK) {
      this.chunks.shift();
      this.skip = 0;
    }
  }
}

/**
 * The event itself when it holds no handle (most do not: the SDK makes a new object per event and
 * drops it after emitting), else a copy without them. A copy made by a rest pattern keeps its
 * fields past the fourth in a separate property array: keeping the SDK's own object, a literal
 * with its fields in place, held about 1 KiB less per 10-turn call in the bench, and copies nothing.
 */
function withoutHandles(event: voice.AgentEvent): voice.AgentEvent {
  if (!('speechHandle' in event) && !('speechInput' in event)) return event;
  // a rest copy, not a spread and `delete`: deleting makes each copy a dictionary-mode object, about twice the size
  const { speechHandle: _handle, speechInput: _input, ...copy } = event as unknown as Record<string, unknown>;
  return copy as unknown as voice.AgentEvent;
}

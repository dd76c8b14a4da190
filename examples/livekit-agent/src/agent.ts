/**
 * A LiveKit agent traced by voicetrace, exactly as the README tells users to set it up.
 *
 * Each job process imports this file before the SDK starts the job's `job_entrypoint` span; the
 * import of ./tracing.js at the top sets voicetrace up then, which is what makes that first span
 * (and everything under it) traced.
 */
import { defineAgent, log, voice, type JobContext, type JobProcess } from '@livekit/agents';
import { RoomEvent } from '@livekit/rtc-node';
import { EnergyVAD } from '@voicetrace/scripted-plugins';
import { createAgents, sessionProviders } from './plugins.js';
import { CALLER_SCRIPT_TOPIC } from './script-topic.js';
import { vt } from './tracing.js';


export default defineAgent({
  prewarm: (proc: JobProcess) => {
    // a turn detector needs the VAD's minimum silence to be at least 250 ms in room mode
    proc.userData.vad = new EnergyVAD({ minSilenceMs: 500 });
  },
  entry: async (ctx: JobContext) => {
    await ctx.connect();
    const participant = await ctx.waitForParticipant();
    const providers = sessionProviders(process.env, ctx.proc.userData.vad as EnergyVAD);
    // offline only: the scripted STT transcribes what the caller announces it will say
    ctx.room.registerTextStreamHandler(CALLER_SCRIPT_TOPIC, async (reader) => {
      providers.scriptedStt?.expect({ transcript: await reader.readAll() });
    });
    const session = new voice.AgentSession({
      ...providers.options,
      turnHandling: { turnDetection: 'stt', endpointing: { minDelay: 300, maxDelay: 3000 } },
    });
    const { frontDesk } = createAgents({ weatherUrl: process.env.WEATHER_URL });
    // the job metadata's `traceparent` (set by whoever dispatched the agent) is picked up by voicetrace
    vt.instrument(session, { sessionId: `${ctx.room.name ?? 'room'}-${ctx.job.id}`, userId: participant.identity });
    await session.start({ agent: frontDesk, room: ctx.room, record: process.env.AGENT_RECORD === '1' });
    ctx.room.on(RoomEvent.ParticipantDisconnected, () => log().info('caller left'));
  },
  // writes report.json/report.html (with the recording's path and offsets), uploads when configured, flushes
  onSessionEnd: (ctx: JobContext) => vt.onSessionEnd(ctx),
});

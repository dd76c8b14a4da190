import type { HrTime } from '@opentelemetry/api';

/** Epoch seconds to OTel HrTime (explicit, so the SDK never mistakes it for a performance timestamp). */
export function toHrTime(epochSeconds: number): HrTime {
  const seconds = Math.floor(epochSeconds);
  return [seconds, Math.round((epochSeconds - seconds) * 1e9)];
}

/** OTel HrTime to epoch seconds. */
export function fromHrTime(time: HrTime): number {
  return time[0] + time[1] / 1e9;
}

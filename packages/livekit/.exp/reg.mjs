import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
new PinoInstrumentation({ logHook: (span, record) => { record.hooked = true; } });
await waitForAllMessagesAcknowledged();
process.stderr.write(`[reg] pid ${process.pid} registered\n`);

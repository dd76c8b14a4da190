import { LangfuseClient } from '@langfuse/client';
import { requestSecrets } from '@voicetrace/exporters';
import type { LangfuseConfig } from './types.js';

/** LangFuse's public API client for `config`, and the secrets a failure message must never print. */
export interface LangfuseApi {
  client: LangfuseClient;
  /** The keys and the Basic credential made of them: a server echoing the request must not print them. */
  secrets: string[];
}

/** The API client the scores and the clips use: the base URL without trailing slashes, and the secrets to scrub from its errors. */
export function langfuseApi(config: LangfuseConfig): LangfuseApi {
  const basic = `Basic ${Buffer.from(`${config.publicKey}:${config.secretKey}`).toString('base64')}`;
  return {
    client: new LangfuseClient({ publicKey: config.publicKey, secretKey: config.secretKey, baseUrl: config.baseUrl.replace(/\/+$/, '') }),
    secrets: requestSecrets(config.baseUrl, { Authorization: basic, 'x-secret-key': config.secretKey }),
  };
}

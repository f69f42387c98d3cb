import type { MwdClient } from './mwd/client.js';
import type { OenClient } from './oen/client.js';

/** The provider clients the activities are handed (built from configuration in src/wiring/providers.ts). */
export interface ProviderClients {
  oen: OenClient;
  mwd: MwdClient;
}

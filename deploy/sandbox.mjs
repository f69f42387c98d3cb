/**
 * The Oen and MWD sandbox emulators for docker-compose.yml (service `sandbox`), run as
 * `node --import tsx deploy/sandbox.mjs`. It is `npm run sandbox` (scripts/sandbox.ts) except for
 * where it listens: that script keeps the emulators on 127.0.0.1, which no other container can
 * reach, so this one listens on every interface of the sandbox container. Same variables:
 * SANDBOX_OEN_PORT, SANDBOX_MWD_PORT, and the tokens the emulators accept, OEN_TOKEN and MWD_TOKEN.
 * Emulators only: they move no money. Production sets real provider URLs and leaves this service off.
 */
import { loadConfigOrExit } from '../src/config.ts';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN, startSandboxes } from '../src/sandbox/index.ts';
import { handleShutdownSignals } from '../src/shutdown.ts';

const config = loadConfigOrExit();
const sandboxes = await startSandboxes({
  oenPort: config.SANDBOX_OEN_PORT,
  mwdPort: config.SANDBOX_MWD_PORT,
  oenToken: config.OEN_TOKEN ?? SANDBOX_TOKEN,
  mwdToken: config.MWD_TOKEN ?? SANDBOX_TOKEN,
  host: '0.0.0.0',
});
handleShutdownSignals({
  stop: () => void sandboxes.close().then(() => process.exit(0)),
  force: () => process.exit(130),
});
console.log(
  `Sandbox emulators on all interfaces: Oen on port ${config.SANDBOX_OEN_PORT} (merchantId "${SANDBOX_OEN_MERCHANT_ID}"), ` +
    `MWD on port ${config.SANDBOX_MWD_PORT}. Admin: GET /__admin/state, /__admin/refunds (docs/sandbox.md).`,
);

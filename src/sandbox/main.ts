/**
 * `npm run sandbox`: the Oen and MWD emulators on their own, until Ctrl-C, for trying the providers'
 * documented requests by hand or pointing a separately run engine at them.
 */
import { loadConfigOrExit } from '../config.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN, startSandboxes } from './index.js';
import { handleShutdownSignals } from '../shutdown.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const oenToken = config.OEN_TOKEN ?? SANDBOX_TOKEN;
  const mwdToken = config.MWD_TOKEN ?? SANDBOX_TOKEN;
  const sandboxes = await startSandboxes({
    oenPort: config.SANDBOX_OEN_PORT,
    mwdPort: config.SANDBOX_MWD_PORT,
    oenToken,
    mwdToken,
    host: config.SANDBOX_HOST,
  });
  handleShutdownSignals({
    stop: () => {
      console.log('\nStopping the sandbox emulators.');
      void sandboxes.close().then(() => process.exit(0));
    },
    force: () => process.exit(130),
  });

  console.log(`Oen sandbox   ${sandboxes.oenUrl}   token "${oenToken}", merchantId "${SANDBOX_OEN_MERCHANT_ID}"`);
  console.log(`MWD sandbox   ${sandboxes.mwdUrl}   token "${mwdToken}"`);
  console.log("\nSeeded with the documents' examples: Oen order ORDER00001 (transaction P20240412CIK7KPPH, NT$1,000,");
  console.log('card 4242 4242 4242 4242), subscription S202404112CYPRJPZ; MWD order 202008170002 (NT$55).');
  console.log('Admin (either emulator): GET /__admin/state, POST /__admin/seed, GET /__admin/refunds,');
  console.log('GET /__admin/requests, GET /__admin/timeline, GET|PUT /__admin/faults, POST /__admin/reset. See docs/sandbox.md.');
  console.log("\nTry the Oen document's refund example:");
  console.log(
    `  curl --location '${sandboxes.oenUrl}/refunds/P20240412CIK7KPPH' --header 'Content-Type: application/json' ` +
      `--header 'Authorization: Bearer ${oenToken}' --data '{"merchantId": "${SANDBOX_OEN_MERCHANT_ID}", "amount": 1000, "reason": "客戶取消訂單"}'`,
  );
  console.log('\nPress Ctrl-C to stop.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});

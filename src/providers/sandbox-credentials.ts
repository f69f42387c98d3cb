/**
 * The credentials of `npm start`'s provider emulators (src/sandbox/): what they accept unless
 * configured otherwise, and what the engine sends them when no provider credentials are set. The
 * engine's side of that agreement lives here, so product code never imports the sandbox.
 */
export const SANDBOX_TOKEN = 'sandbox';
/** The merchant the Oen document's examples use. */
export const SANDBOX_OEN_MERCHANT_ID = 'oentech';

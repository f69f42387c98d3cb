/** What the emulators accept unless configured otherwise; the engine uses the same against them. */
export const SANDBOX_TOKEN = 'sandbox';
/** The merchant the Oen document's examples use. */
export const SANDBOX_OEN_MERCHANT_ID = 'oentech';

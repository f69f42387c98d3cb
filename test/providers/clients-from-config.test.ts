import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createProviderClients } from '../../src/wiring/providers.js';
import { sandboxRefunds, useSandboxes } from '../helpers/sandbox.js';

const sandboxes = useSandboxes();

describe('provider clients built from the configuration', () => {
  it('without provider URLs, talk to the emulators with the sandbox token and merchant', async () => {
    const { oen, mwd } = createProviderClients(loadConfig({}), sandboxes());
    await oen.refund('P20240412CIK7KPPH', { amount: 1000 });
    await mwd.refund('202008170002', { cardToken: '45dec174-3f16-471b-8cd2-d79ee9cf9ac2_0176352482860745', amount: 55 });
    expect((await sandboxRefunds(sandboxes().oenUrl)).map((r) => r.reference)).toEqual(['P20240412CIK7KPPH']);
    expect((await sandboxRefunds(sandboxes().mwdUrl)).map((r) => r.reference)).toEqual(['202008170002']);
  });

  it('with provider URLs, use them with the configured token and merchant id', async () => {
    const config = loadConfig({
      OEN_BASE_URL: sandboxes().oenUrl,
      OEN_TOKEN: 'sandbox',
      OEN_MERCHANT_ID: 'not-the-sandbox-merchant',
      MWD_BASE_URL: sandboxes().mwdUrl,
      MWD_TOKEN: 'a-real-looking-token',
      ALLOW_PLAIN_HTTP: 'OEN_BASE_URL,MWD_BASE_URL',
    });
    const { oen, mwd } = createProviderClients(config, { oenUrl: 'http://127.0.0.1:9', mwdUrl: 'http://127.0.0.1:9' });
    // The emulator's merchant is `oentech`: the configured one reaches it, and is refused.
    await expect(oen.refund('P20240412CIK7KPPH', { amount: 1000 })).rejects.toMatchObject({ type: 'OenV0001' });
    await expect(mwd.refund('202008170002', { cardToken: '45dec174-3f16-471b-8cd2-d79ee9cf9ac2_0176352482860745', amount: 55 })).rejects.toMatchObject({
      type: 'MwdRefused',
      details: { httpStatus: 401 },
    });
  });
});

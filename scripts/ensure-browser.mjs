// Runs before `npm test` (its pre-script): the browser test drives Debian's Chromium through
// playwright-core, so install the `chromium` package (and CJK fonts, for the refunds' Chinese text
// in screenshots) when missing. Once per machine; needs root or passwordless sudo and the Debian
// package mirror. Where that is impossible the browser test is skipped and says so, unless
// REQUIRE_BROWSER=1 (as .ci/run sets), which makes it a failure, as REQUIRE_POSTGRES does.
import { existsSync } from 'node:fs';
import { aptInstall } from './apt-install.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CJK_FONTS = '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc';

const missing = [...(existsSync(CHROMIUM) ? [] : ['chromium']), ...(existsSync(CJK_FONTS) ? [] : ['fonts-noto-cjk'])];
if (missing.length > 0) {
  console.log(`Installing ${missing.join(' and ')} for the browser test (apt-get; once per machine)…`);
  const ok = aptInstall(missing) && existsSync(CHROMIUM);
  if (!ok) {
    const message =
      `Could not install ${missing.join(' and ')} (this needs root or passwordless sudo, and Debian's package mirror). ` +
      'Install the Debian package "chromium" yourself, or set CHROMIUM_PATH to a Chromium binary.';
    if (process.env.REQUIRE_BROWSER === '1') {
      console.error(`${message} REQUIRE_BROWSER=1 makes that a failure.`);
      process.exit(1);
    }
    console.warn(`${message} The browser test will be SKIPPED.`);
  }
}

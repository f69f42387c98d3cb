// Runs before `npm test` (its pre-script): the alert rules are checked and unit-tested with promtool,
// and one test runs a real Prometheus against the engine (test/prometheus/), so install Debian's
// `prometheus` package, which brings both binaries, when either is missing. Once per machine; needs
// root or passwordless sudo and the Debian package mirror. Where that is impossible those tests are
// skipped and say so, unless REQUIRE_PROMETHEUS=1 (as .ci/run sets), which makes it a failure.
import { existsSync } from 'node:fs';
import { aptInstall } from './apt-install.mjs';

const PROMETHEUS = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
const PROMTOOL = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';

if (!existsSync(PROMETHEUS) || !existsSync(PROMTOOL)) {
  console.log('Installing prometheus (with promtool) for the alert rule tests (apt-get; once per machine)…');
  const ok = aptInstall(['prometheus']) && existsSync(PROMETHEUS) && existsSync(PROMTOOL);
  if (!ok) {
    const message =
      "Could not install prometheus (this needs root or passwordless sudo, and Debian's package mirror). " +
      'Install the Debian package "prometheus" yourself, or set PROMETHEUS_PATH and PROMTOOL_PATH to its binaries.';
    if (process.env.REQUIRE_PROMETHEUS === '1') {
      console.error(`${message} REQUIRE_PROMETHEUS=1 makes that a failure.`);
      process.exit(1);
    }
    console.warn(`${message} The Prometheus tests will be SKIPPED.`);
  }
}

// The broker intake tests (test/intake/, the outcome destinations, the example) use this machine's
// RabbitMQ (127.0.0.1:5672) and NATS with JetStream (127.0.0.1:4222), as services, the way
// test/helpers/databases.ts uses its PostgreSQL.
//   node scripts/ensure-brokers.mjs            installs each missing Debian package, and starts each
//                                              broker not listening, waiting for it (.ci/run);
//   node scripts/ensure-brokers.mjs --install  only installs (npm test's pre-script: a run of files
//                                              that use no broker starts none);
//   node scripts/ensure-brokers.mjs --start rabbitmq|nats
//                                              starts that one if it is down (test/helpers/brokers.ts,
//                                              when a file that uses it finds it down).
// Installing and starting need root or passwordless sudo. Where that is impossible their tests are
// skipped and say so, unless REQUIRE_BROKERS=1 (as .ci/run sets), which makes it a failure. A broker
// given by TEST_AMQP_URL or TEST_NATS_URL is someone else's: it is only checked. Plain Node, no
// dependencies: it runs before `npm ci` may have.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { aptInstall, asRoot } from './apt-install.mjs';

const brokers = [
  {
    id: 'rabbitmq',
    name: 'RabbitMQ',
    given: process.env.TEST_AMQP_URL,
    port: 5672,
    binary: '/usr/sbin/rabbitmq-server',
    debianPackage: 'rabbitmq-server',
    start: ['rabbitmq-server', ['-detached']],
  },
  {
    id: 'nats',
    name: 'NATS',
    given: process.env.TEST_NATS_URL,
    port: 4222,
    binary: '/usr/sbin/nats-server',
    debianPackage: 'nats-server',
    start: [
      'start-stop-daemon',
      [
        '--start',
        '--oknodo',
        '--background',
        '--exec',
        '/usr/sbin/nats-server',
        '--',
        '-a',
        '127.0.0.1',
        '-p',
        '4222',
        '-js',
        '-sd',
        '/var/lib/nats-server',
        '-l',
        '/var/log/nats-server.log',
      ],
    ],
  },
];

/** Whether something accepts connections on 127.0.0.1:`port` (a refused or unanswered connect: no). */
function listening(host, port) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (up) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls the port until it listens or `seconds` have passed (RabbitMQ takes several seconds to boot). */
async function waitForPort(port, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await listening('127.0.0.1', port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}

const [mode, only] = process.argv.slice(2);
if (mode !== undefined && mode !== '--install' && mode !== '--start') {
  console.error('usage: node scripts/ensure-brokers.mjs [--install | --start rabbitmq|nats]');
  process.exit(2);
}
const chosen = mode === '--start' ? brokers.filter((broker) => broker.id === only) : brokers;
if (chosen.length === 0) {
  console.error(`--start takes rabbitmq or nats, not ${only ?? 'nothing'}`);
  process.exit(2);
}

let failed = false;
for (const broker of chosen) {
  const where = broker.given ?? `127.0.0.1:${broker.port}`;
  if (broker.given) {
    if (mode === '--install') continue;
    const url = new URL(broker.given);
    if (await listening(url.hostname, Number(url.port || broker.port))) continue;
  } else {
    // A broker that listens needs nothing, however it was installed.
    if (await listening('127.0.0.1', broker.port)) continue;
    if (mode !== '--start' && !existsSync(broker.binary)) {
      console.log(`Installing ${broker.debianPackage} for the broker intake tests (apt-get; once per machine)…`);
      aptInstall([broker.debianPackage]);
    }
    if (mode === '--install' && existsSync(broker.binary)) continue;
    if (mode !== '--install' && existsSync(broker.binary)) {
      console.log(`Starting ${broker.name} on ${where} for the broker intake tests…`);
      const [command, args] = broker.start;
      // Two test files may find it down at once: the second start fails, and the port opens anyway.
      asRoot(command, args);
      if (await waitForPort(broker.port, 90)) continue;
    }
  }
  const message = broker.given
    ? `${broker.name} at ${where} (given by ${broker.name === 'NATS' ? 'TEST_NATS_URL' : 'TEST_AMQP_URL'}) is not listening.`
    : `Could not ${mode === '--install' ? 'install' : 'start'} ${broker.name} on ${where} (this needs the Debian package "${broker.debianPackage}", and root or passwordless sudo). ${mode === '--install' ? 'Install' : 'Start'} it yourself.`;
  if (process.env.REQUIRE_BROKERS === '1') {
    console.error(`${message} REQUIRE_BROKERS=1 makes that a failure.`);
    failed = true;
  } else {
    console.warn(`${message} Its broker intake tests will be SKIPPED.`);
  }
}
if (failed) process.exit(1);

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { clusterBinaryPaths, TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION } from '../scripts/cluster/binaries.js';
import { searchAttributePairs, serverHostEnv, uiSettings, type ClusterOptions } from '../scripts/cluster/cluster.js';
import { TEMPORAL_CLI_VERSION } from '../scripts/temporal-cli.js';
import { loadCompose, parseDotEnv, serviceEnv, type ComposeFile } from './helpers/compose.js';

/**
 * What CI runs on the cluster is what compose deploys: the same versions (built from the same Go
 * modules), and the same server configuration template, dynamic config, schema and setup scripts and
 * UI settings. The template is rendered by the real server binary, with compose's environment and
 * with the cluster's, so a setting one of them needs and the other breaks shows here.
 */
// Read as `docker compose` would, interpolated from .env.example (test/helpers/compose.ts).
const compose: ComposeFile = loadCompose(readFileSync('docker-compose.yml', 'utf8'), parseDotEnv(readFileSync('.env.example', 'utf8')));
const dockerfile = readFileSync('deploy/temporal/Dockerfile', 'utf8');
const temporalServices = ['temporal-schema', 'temporal', 'temporal-setup', 'temporal-ui'];

function arg(name: string): string | undefined {
  return new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(dockerfile)?.[1];
}

function render(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = execFileSync(clusterBinaryPaths().server, ['--root', '.', '--config', 'deploy/temporal/config', '--env', 'refundflow', 'render-config'], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return parse(out) as Record<string, unknown>;
}

describe('the compose stack and the cluster run the same Temporal', () => {
  it('builds the versions the cluster runs, from the same Go modules', () => {
    expect({ server: arg('TEMPORAL_SERVER_VERSION'), ui: arg('TEMPORAL_UI_VERSION'), cli: arg('TEMPORAL_CLI_VERSION') }).toEqual({
      server: TEMPORAL_SERVER_VERSION,
      ui: TEMPORAL_UI_VERSION,
      cli: TEMPORAL_CLI_VERSION,
    });
    expect(dockerfile).toContain(
      'go install "go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}" "go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}"',
    );
    expect(dockerfile).toContain('go install "github.com/temporalio/ui-server/v2/cmd/server@v${TEMPORAL_UI_VERSION}"');
    expect(dockerfile).toMatch(/^COPY deploy\/temporal\/ \/app\/deploy\/temporal\/$/m);
    for (const name of temporalServices) {
      expect(compose.services[name]?.build, name).toEqual({ context: '.', dockerfile: 'deploy/temporal/Dockerfile' });
    }
    // Nothing the image copies is kept out of its build context.
    const ignored = readFileSync('.dockerignore', 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored.filter((pattern) => /^(deploy|deploy\/temporal)(\/|$)/.test(pattern))).toEqual([]);
  });

  it('with the same files: configuration template, schema and setup scripts, UI settings, search attributes', () => {
    const command = (name: string) => compose.services[name]?.command;
    expect(command('temporal-schema')).toEqual(['sh', 'deploy/temporal/schema.sh']);
    expect(command('temporal-setup')).toEqual(['sh', 'deploy/temporal/setup.sh']);
    expect(command('temporal')).toEqual(expect.arrayContaining(['--root', '/app', '--config', 'deploy/temporal/config', '--env', 'refundflow', 'start']));
    expect(command('temporal-ui')).toEqual(['temporal-ui-server', '--root', '/app/ui', '--env', 'docker', 'start']);
    // The UI's settings are the file the cluster reads, and compose's own lines do not undo them.
    const ui = serviceEnv(compose.services['temporal-ui'] ?? {}, 'temporal-ui');
    expect(parseDotEnv(readFileSync('deploy/temporal/ui.env', 'utf8'))).toEqual(uiSettings());
    for (const [name, value] of Object.entries(uiSettings())) expect(ui[name], name).toBe(value);
    expect(uiSettings()).toMatchObject({
      TEMPORAL_CODEC_INCLUDE_CREDENTIALS: 'true',
      TEMPORAL_DISABLE_WRITE_ACTIONS: 'true',
      TEMPORAL_WORKFLOW_CANCEL_DISABLED: 'true',
      TEMPORAL_WORKFLOW_SIGNAL_DISABLED: 'true',
      TEMPORAL_WORKFLOW_UPDATE_DISABLED: 'true',
      TEMPORAL_ACTIVITY_COMMANDS_DISABLED: 'true',
      TEMPORAL_WORKFLOW_TERMINATE_DISABLED: 'true',
      TEMPORAL_WORKFLOW_RESET_DISABLED: 'true',
      TEMPORAL_BATCH_ACTIONS_DISABLED: 'true',
      TEMPORAL_START_WORKFLOW_DISABLED: 'true',
    });
    expect(serviceEnv(compose.services['temporal-setup'] ?? {}, 'temporal-setup').REFUND_SEARCH_ATTRIBUTES).toBe(searchAttributePairs());
  });

  it("the server renders the template with compose's environment: all services on 0.0.0.0, PostgreSQL for both stores, 8 shards", () => {
    const config = render(serviceEnv(compose.services.temporal ?? {}, 'temporal')) as {
      persistence: { numHistoryShards: number; datastores: Record<string, { sql: { pluginName: string; databaseName: string; connectAddr: string } }> };
      services: Record<string, { rpc: { bindOnIP: string; grpcPort: number } }>;
      global: { membership: { broadcastAddress: string } };
    };
    expect(config.persistence.numHistoryShards).toBe(8);
    expect(Object.values(config.persistence.datastores).map((d) => [d.sql.pluginName, d.sql.databaseName, d.sql.connectAddr])).toEqual([
      ['postgres12', 'temporal', 'postgresql:5432'],
      ['postgres12', 'temporal_visibility', 'postgresql:5432'],
    ]);
    expect(Object.values(config.services).map((s) => s.rpc.bindOnIP)).toEqual(['0.0.0.0', '0.0.0.0', '0.0.0.0', '0.0.0.0']);
    expect(config.services.frontend?.rpc.grpcPort).toBe(7233);
  });

  it("and with the cluster's, per host: the second history host on its own ports; with TLS, the frontend's certificates", () => {
    const options = {
      postgres: { host: '127.0.0.1', port: 5432, user: 'postgres' },
      databases: { temporal: 't', visibility: 'v' },
      ports: {
        frontend: 1,
        frontendHttp: 2,
        frontendMembership: 3,
        history1: 4,
        history1Membership: 5,
        history2: 6,
        history2Membership: 7,
        matching: 8,
        matchingMembership: 9,
        worker: 10,
        workerMembership: 11,
        ui: 12,
      },
      tls: {
        serverCa: '/ca.pem',
        frontendCert: '/f.pem',
        frontendKey: '/f.key',
        serverName: 'frontend.test',
        clientCa: '/ca.pem',
        internalClientCert: '/c.pem',
        internalClientKey: '/c.key',
      },
    } as unknown as ClusterOptions;
    type Rendered = {
      services: Record<string, { rpc: { grpcPort: number; membershipPort: number } }>;
      global: { tls: { frontend: { server: { certFile: string; requireClientAuth: boolean; clientCaFiles: string[] } }; systemWorker: { certFile: string } } };
    };
    const second = render(serverHostEnv('history-2', options)) as unknown as Rendered;
    expect(second.services.history?.rpc).toMatchObject({ grpcPort: 6, membershipPort: 7 });
    expect(second.global.tls.frontend.server).toMatchObject({ certFile: '/f.pem', requireClientAuth: true, clientCaFiles: ['/ca.pem'] });
    expect(second.global.tls.systemWorker.certFile).toBe('/c.pem');
    const first = render(serverHostEnv('history-1', options)) as unknown as Rendered;
    expect(first.services.history?.rpc).toMatchObject({ grpcPort: 4, membershipPort: 5 });
  });

  it('whose dynamic config the server accepts', () => {
    expect(() => execFileSync(clusterBinaryPaths().server, ['validate-dynamic-config', 'deploy/temporal/dynamicconfig.yaml'], { stdio: 'pipe' })).not.toThrow();
  });
});

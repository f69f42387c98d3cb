import { dirname, relative, resolve, sep } from 'node:path';

/**
 * The layers of src/ (docs/engine.md, "Layers"): each may import only the layers listed for it, so
 * no import runs back up. `types` are imported as types only (erased at build: nothing of them runs).
 * The workflow bundle takes no schema module (zod) and no provider: workflows may import the
 * schemas' types only, and neither workflows nor the zod-free domain may import zod.
 *
 * Every file of src/ is in a layer: a folder, or one of the `process` files at the root (the
 * configuration, logging, metrics, shutdown, the bundle's cache), or `main` (the worker and the
 * bundle build, which put the engine together). The top floors — api, cli, client, codec, wiring —
 * are held like the rest, and **no layer but the sandbox's own imports the sandbox**: the emulators
 * are a tool for development and tests, never a part of the engine (what the engine sends them is
 * src/providers/sandbox-credentials.ts).
 */
export const layers = {
  domain: { may: ['domain'], types: ['domain/schemas'], noZod: true },
  'domain/schemas': { may: ['domain', 'domain/schemas'] },
  providers: { may: ['domain', 'domain/schemas', 'providers'] },
  ledger: { may: ['domain', 'domain/schemas', 'ledger'] },
  webhooks: { may: ['domain', 'domain/schemas', 'webhooks'] },
  activities: { may: ['domain', 'domain/schemas', 'providers', 'ledger', 'webhooks', 'activities'] },
  // The outcome relay and its destinations (the outbox's reader is the ledger's).
  outcomes: { may: ['domain', 'domain/schemas', 'ledger', 'webhooks', 'outcomes'] },
  workflows: { may: ['domain', 'workflows'], types: ['domain/schemas', 'activities'], noZod: true },
  process: { may: ['domain', 'domain/schemas', 'process'] },
  codec: { may: ['domain', 'domain/schemas', 'process', 'codec'] },
  client: { may: ['domain', 'domain/schemas', 'client'], types: ['workflows'] },
  wiring: { may: ['domain', 'domain/schemas', 'providers', 'ledger', 'webhooks', 'activities', 'codec', 'process', 'wiring'] },
  // The update definitions the API sends (src/workflows/messages.ts) are the runs' own.
  api: { may: ['domain', 'domain/schemas', 'ledger', 'webhooks', 'outcomes', 'client', 'codec', 'process', 'wiring', 'workflows', 'api'] },
  cli: { may: ['domain', 'domain/schemas', 'providers', 'ledger', 'webhooks', 'client', 'process', 'cli'], types: ['wiring'] },
  main: { may: ['domain', 'domain/schemas', 'providers', 'ledger', 'webhooks', 'activities', 'codec', 'process', 'wiring', 'main'] },
  sandbox: { may: ['domain', 'domain/schemas', 'providers', 'process', 'sandbox'] },
};
/** The files at the root of src/ and the layer each is in. */
const rootFiles = {
  config: 'process',
  'config-outside-development': 'process',
  'dev-secrets': 'process',
  logging: 'process',
  metrics: 'process',
  shutdown: 'process',
  'workflow-bundle': 'process',
  release: 'process',
  worker: 'main',
  'build-workflows': 'main',
};
const srcDir = resolve(import.meta.dirname, '..', 'src');

/**
 * The layer a file under src/ belongs to: its first folder (domain/schemas is a layer of its own), or,
 * at the root, the one `rootFiles` gives it; a root file it does not name is a layer of its own name,
 * which the rule refuses until it is given one.
 */
function layerOf(file) {
  const path = relative(srcDir, file);
  if (path.startsWith('..')) return undefined;
  const [first, second] = path.split(sep);
  if (first === 'domain' && second === 'schemas') return 'domain/schemas';
  if (second !== undefined) return first;
  const name = first.replace(/\.(ts|js)$/, '');
  return rootFiles[name] ?? name;
}

export const layerRule = {
  meta: {
    type: 'problem',
    schema: [],
    messages: {
      upward: '{{from}} may not import {{to}} ({{what}}): layers import only downward (docs/engine.md, "Layers").',
      unplaced: 'src/{{from}} is in no layer: give it one in eslint/layers.mjs (docs/engine.md, "Layers").',
      zod: '{{from}} may not import zod: it is in the workflow bundle (docs/engine.md, "The workflow bundle"); schemas live in src/domain/schemas/.',
    },
  },
  create(context) {
    const from = layerOf(context.filename);
    if (from === undefined) return {};
    const rules = layers[from];
    if (!rules) {
      return { Program: (node) => context.report({ node, messageId: 'unplaced', data: { from } }) };
    }
    const check = (node, typeOnly) => {
      const source = node.source?.value;
      if (typeof source !== 'string') return;
      if (rules.noZod && !typeOnly && (source === 'zod' || source.startsWith('zod/'))) {
        context.report({ node, messageId: 'zod', data: { from } });
        return;
      }
      if (!source.startsWith('.')) return;
      const to = layerOf(resolve(dirname(context.filename), source));
      if (to === undefined || rules.may.includes(to) || (typeOnly && rules.types?.includes(to))) return;
      context.report({ node, messageId: 'upward', data: { from, to, what: source } });
    };
    // Only `import type` is erased whole; `import { type X }` may stay behind as an import of the module.
    const allTypes = (node) => node.importKind === 'type';
    return {
      ImportDeclaration: (node) => check(node, allTypes(node)),
      ExportNamedDeclaration: (node) => check(node, node.exportKind === 'type'),
      ExportAllDeclaration: (node) => check(node, node.exportKind === 'type'),
    };
  },
};

import { dirname, relative, resolve, sep } from 'node:path';

/**
 * The layers of src/ (docs/engine.md, "Layers"): each may import only the layers listed for it, so
 * no import runs back up. `types` are imported as types only (erased at build: nothing of them runs).
 * The workflow bundle takes no schema module (zod) and no provider: workflows may import the
 * schemas' types only, and neither workflows nor the zod-free domain may import zod. Layers not
 * listed here (api, cli, client, codec, sandbox, wiring, the entry points) sit on top and may import
 * anything below.
 */
export const layers = {
  domain: { may: ['domain'], types: ['domain/schemas'], noZod: true },
  'domain/schemas': { may: ['domain', 'domain/schemas'] },
  providers: { may: ['domain', 'domain/schemas', 'providers'] },
  ledger: { may: ['domain', 'domain/schemas', 'ledger'] },
  webhooks: { may: ['domain', 'domain/schemas', 'webhooks'] },
  activities: { may: ['domain', 'domain/schemas', 'providers', 'ledger', 'webhooks', 'activities'] },
  workflows: { may: ['domain', 'workflows'], types: ['domain/schemas', 'activities'], noZod: true },
};
const srcDir = resolve(import.meta.dirname, '..', 'src');

/** The layer a file under src/ belongs to: its first folder (domain/schemas is a layer of its own), or its own name. */
function layerOf(file) {
  const path = relative(srcDir, file);
  if (path.startsWith('..')) return undefined;
  const [first, second] = path.split(sep);
  if (first === 'domain' && second === 'schemas') return 'domain/schemas';
  return first.replace(/\.ts$/, '');
}

export const layerRule = {
  meta: {
    type: 'problem',
    schema: [],
    messages: {
      upward: '{{from}} may not import {{to}} ({{what}}): layers import only downward (docs/engine.md, "Layers").',
      zod: '{{from}} may not import zod: it is in the workflow bundle (docs/engine.md, "The workflow bundle"); schemas live in src/domain/schemas/.',
    },
  },
  create(context) {
    const from = layerOf(context.filename);
    const rules = from && layers[from];
    if (!rules) return {};
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


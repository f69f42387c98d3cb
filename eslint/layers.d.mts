import type { Rule } from 'eslint';

/** Each layer of src/ and the layers it may import (values), or import as types only. */
export const layers: Record<string, { may: string[]; types?: string[]; noZod?: boolean }>;
/** The lint rule `refundflow/layers`. */
export const layerRule: Rule.RuleModule;

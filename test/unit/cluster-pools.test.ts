import { describe, expect, it } from 'vitest';
import { DEFAULT_POOLS } from '../../scripts/cluster/cluster.js';
import { poolSizes } from '../../scripts/cluster/main.js';

describe("npm run cluster's PostgreSQL pools per host", () => {
  it('are the defaults unless set', () => {
    expect(poolSizes({})).toEqual(DEFAULT_POOLS);
    expect(poolSizes({ TEMPORAL_DB_MAX_CONNS: '', TEMPORAL_VISIBILITY_DB_MAX_CONNS: '' })).toEqual(DEFAULT_POOLS);
  });

  it('take TEMPORAL_DB_MAX_CONNS and TEMPORAL_VISIBILITY_DB_MAX_CONNS', () => {
    expect(poolSizes({ TEMPORAL_DB_MAX_CONNS: '2', TEMPORAL_VISIBILITY_DB_MAX_CONNS: '1' })).toEqual({ store: 2, visibility: 1 });
    expect(poolSizes({ TEMPORAL_DB_MAX_CONNS: '20' })).toEqual({ store: 20, visibility: DEFAULT_POOLS.visibility });
  });

  it.each(['0', '-1', '2.5', 'ten', '10000', ' 4'])('refuse %j, naming the variable', (value) => {
    expect(() => poolSizes({ TEMPORAL_DB_MAX_CONNS: value })).toThrow(
      `TEMPORAL_DB_MAX_CONNS must be a whole number of connections from 1 to 9999, not "${value}"`,
    );
    expect(() => poolSizes({ TEMPORAL_VISIBILITY_DB_MAX_CONNS: value })).toThrow('TEMPORAL_VISIBILITY_DB_MAX_CONNS must be');
  });
});

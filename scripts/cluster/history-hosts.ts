/**
 * What the cluster's own tables say about one history host: whether it is in the membership
 * (cluster_membership, the table the hosts find each other through) and which shards it owns
 * (the shards table, where each shard's owner is written by the host that acquired it). The chaos
 * run reads these after it restarts a history host it killed, so that "back" is something seen,
 * not assumed.
 */
import pg from 'pg';

/** cluster_membership's role for the history service (the server's persistence.ServiceType). */
const HISTORY_ROLE = 2;

export interface HistoryHostView {
  /** The host's membership records that have not expired, by host id (one per process start). */
  sessions: string[];
  /** The shards whose owner is this host, with the owner as written (address, sequence, process uuid). */
  shards: Array<{ shardId: number; owner: string }>;
}

/**
 * Reads the membership and the shards' owners from the cluster's database (Temporal's store, not
 * visibility), as they are now, for the history host on these ports.
 */
export async function observeHistoryHost(database: pg.ClientConfig, { grpc, membership }: { grpc: number; membership: number }): Promise<HistoryHostView> {
  const client = new pg.Client(database);
  await client.connect();
  try {
    // The server writes its timestamps in UTC into columns without a zone.
    const { rows: members } = await client.query<{ host_id: Buffer }>(
      `SELECT host_id FROM cluster_membership WHERE role = $1 AND rpc_port = $2 AND record_expiry > (now() AT TIME ZONE 'UTC')`,
      [HISTORY_ROLE, membership],
    );
    // An owner is "<host's gRPC address>-<sequence>-<uuid>" (the server's shard context).
    const prefix = `127.0.0.1:${grpc}-`;
    return { sessions: members.map((m) => m.host_id.toString('hex')), shards: (await shardOwners(client)).filter((s) => s.owner.startsWith(prefix)) };
  } finally {
    await client.end();
  }
}

/** Every shard and its owner as its row says ('' where the row is not in protobuf's encoding). */
export async function shardOwners(client: pg.ClientBase): Promise<Array<{ shardId: number; owner: string }>> {
  const { rows } = await client.query<{ shard_id: number; data: Buffer; data_encoding: string }>(
    'SELECT shard_id, data, data_encoding FROM shards ORDER BY shard_id',
  );
  return rows.map((s) => ({ shardId: s.shard_id, owner: s.data_encoding.toLowerCase() === 'proto3' ? shardOwner(s.data) : '' }));
}

/**
 * The owner field (3, a string) of a ShardInfo message in protobuf's wire format. Reads only what
 * it needs to skip the other fields; a message it cannot read has no owner ('').
 */
export function shardOwner(data: Uint8Array): string {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; at < data.length; shift += 7) {
      const byte = data[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new RangeError('truncated varint');
  };
  try {
    while (at < data.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      switch (key % 8) {
        case 0:
          varint();
          break;
        case 1:
          at += 8;
          break;
        case 5:
          at += 4;
          break;
        case 2: {
          const length = varint();
          if (at + length > data.length) return '';
          if (field === 3) return new TextDecoder().decode(data.subarray(at, at + length));
          at += length;
          break;
        }
        default:
          return '';
      }
    }
  } catch {
    return '';
  }
  return '';
}

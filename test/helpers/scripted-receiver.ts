import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Signer } from '../../src/webhooks/signing.js';

/** One POST an outcome receiver took: its webhook-id, whether the signature held, the event, and what it answered. */
export interface ScriptedDelivery {
  id: string;
  verified: boolean;
  status: number;
  event: { id: string; type: string; source: string; data: { refundId: string; status: string; uiUrl: string } };
}

/**
 * An outcome receiver on `port` (0: any free one) that answers each delivery with the next of
 * `answers` (then 200), keeping every delivery and checking its signature with `secret`.
 */
export async function scriptedReceiver(
  secret: string,
  { port = 0, answers = [] }: { port?: number; answers?: number[] } = {},
): Promise<{ deliveries: ScriptedDelivery[]; url: string; server: Server }> {
  const deliveries: ScriptedDelivery[] = [];
  const signer = new Signer(secret);
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const status = answers.shift() ?? 200;
      const verified = signer.verify(body, request.headers).ok;
      deliveries.push({ id: String(request.headers['webhook-id']), verified, status, event: JSON.parse(body) as ScriptedDelivery['event'] });
      response.statusCode = status;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { deliveries, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/outcomes` };
}

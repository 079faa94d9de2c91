import { Agent, type IncomingHttpHeaders, request } from 'node:http';

/** An answer as the tests read it. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON; `undefined` when it is not JSON. */
  json: unknown;
}

/** What {@link send} sends. Raw on purpose: tests need duplicate headers, lying lengths… */
export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  /** Give up after this many ms (default 5000): a hang is a failure, not a wait. */
  timeout?: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** Sends one request over real HTTP and reads the whole answer. */
export function send(base: string, req: RawRequest): Promise<RawResponse> {
  const url = new URL(req.path, base);
  const headers = { ...req.headers };
  // Node's client neither frames a DELETE or OPTIONS body nor sets its length by itself.
  if (
    req.body !== undefined &&
    !('content-length' in headers) &&
    !('transfer-encoding' in headers)
  ) {
    headers['content-length'] = String(Buffer.byteLength(req.body));
  }
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      { method: req.method ?? 'POST', headers, agent, timeout: req.timeout ?? 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    outgoing.on('timeout', () => {
      outgoing.destroy(
        new Error(
          `no answer within ${req.timeout ?? 5000} ms: ${req.method ?? 'POST'} ${req.path}`,
        ),
      );
    });
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/** A form body from pairs, keeping order and repeats. */
export function form(
  pairs: ReadonlyArray<readonly [string, string]> | Record<string, string>,
): string {
  const entries = Array.isArray(pairs) ? pairs : Object.entries(pairs);
  return new URLSearchParams(entries as [string, string][]).toString();
}

/** An RFC 6749 §2.3.1 Basic header: id and secret form-urlencoded, then Base64. */
export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => new URLSearchParams([['', value]]).toString().slice(1);
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

export const FORM = 'application/x-www-form-urlencoded';

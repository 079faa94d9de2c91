import assert from 'node:assert/strict';
import { connect } from 'node:net';

/** One answer read off the wire: status line, lower-cased headers, body. */
export interface WireAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `chunks` on one connection (a pause between them) and reads every answer until
 * the server closes it; fails if the server keeps it open past `waitMs`.
 */
export function onWire(
  base: string,
  chunks: readonly string[],
  waitMs = 3000,
): Promise<WireAnswer[]> {
  const { port, hostname } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection was still open after ${waitMs} ms: ${received}`));
    }, waitMs);
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswers(received));
    });
    (async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        socket.write(chunk);
      }
    })();
  });
}

function parseAnswers(text: string): WireAnswer[] {
  const answers: WireAnswer[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) throw new Error(`a truncated answer: ${rest}`);
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const status = Number(statusLine?.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(end + 4);
    if (headers['transfer-encoding'] === 'chunked') {
      let body = '';
      for (;;) {
        const line = rest.indexOf('\r\n');
        const size = Number.parseInt(rest.slice(0, line), 16);
        if (line === -1 || Number.isNaN(size)) throw new Error(`a truncated answer: ${rest}`);
        body += rest.slice(line + 2, line + 2 + size);
        rest = rest.slice(line + 2 + size + 2);
        if (size === 0) break;
      }
      answers.push({ status, headers, body });
      continue;
    }
    const length = Number(headers['content-length'] ?? 0);
    answers.push({ status, headers, body: rest.slice(0, length) });
    rest = rest.slice(length);
  }
  return answers;
}

export function assertJsonRefusal(answer: WireAnswer | undefined, status: number): void {
  assert.ok(answer, 'no answer');
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status} ${answer.body}`);
  assert.equal(answer.headers['content-type'], 'application/json');
  assert.equal(answer.headers['cache-control'], 'no-store');
  assert.equal(answer.headers.pragma, 'no-cache');
  assert.equal((JSON.parse(answer.body) as { error: string }).error, 'invalid_request');
}

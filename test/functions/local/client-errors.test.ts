/**
 * What Node's own HTTP parser refuses, before the API sees a request, answered
 * like everything else the API says: RFC 9457 problem+json. curl is the
 * client (a real one, which sees a reset as an error), and a raw socket sends
 * what curl will not (`Content-Length: abc`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost } from '../../../functions/local/host.js';
import { MAX_HEADER_BYTES, MAX_HEADERS } from '../../../functions/local/node-http.js';
import { curl } from '../../e2e/support/curl.js';

const SILENT = { info() {}, error() {} };

describe('the local host answers parser refusals as problem+json', () => {
  let dataDir: string;
  let host: Awaited<ReturnType<typeof startLocalHost>>;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'weft-client-errors-'));
    host = await startLocalHost({ dataDir, logger: SILENT });
  });
  afterAll(async () => {
    await host?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** curl with its headers from a file (`-H @file`), as a command line would not hold 64 KiB. */
  async function curlWithHeaders(lines: string[]) {
    const file = join(dataDir, `headers-${lines.length}-${lines[0]?.length}`);
    await writeFile(file, `${lines.join('\n')}\n`);
    return curl(`${host.url}/v1/services`, '-H', `@${file}`);
  }

  const expectProblem = (res: { status: number; contentType: string; body: string }, status: number) => {
    expect(res.status, res.body).toBe(status);
    expect(res.contentType).toBe('application/problem+json');
    const problem = JSON.parse(res.body) as { status: number; detail: string; code: string };
    expect(problem.status).toBe(status);
    expect(problem.code).toBe('ERR_VALIDATION');
    return problem;
  };

  it(`headers over ${MAX_HEADER_BYTES / 1024} KiB are 431, and a much larger block is answered, not reset`, async () => {
    for (const size of [20 * 1024, 60 * 1024, 200 * 1024]) {
      const problem = expectProblem(await curlWithHeaders([`x-big: ${'a'.repeat(size)}`]), 431);
      expect(problem.detail).toMatch(/16 KiB/);
    }
  });

  it(`more than ${MAX_HEADERS} headers are 431, even 2000 of them`, async () => {
    for (const count of [MAX_HEADERS + 1, 2000]) {
      const lines = Array.from({ length: count }, (_, i) => `x-h${i}: v`);
      const problem = expectProblem(await curlWithHeaders(lines), 431);
      expect(problem.detail).toMatch(/headers/);
    }
    // At the limit is fine: curl adds Host, User-Agent and Accept.
    const lines = Array.from({ length: MAX_HEADERS - 3 }, (_, i) => `x-h${i}: v`);
    expect((await curlWithHeaders(lines)).status).toBe(401);
  });

  it('a malformed Content-Length is 400 saying what it must be', async () => {
    const { port } = new URL(host.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('utf8');
      });
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write('PUT /v1/services/shop/x HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}');
    });
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(head).toMatch(/content-type: application\/problem\+json/);
    expect(JSON.parse(body)).toMatchObject({ status: 400, detail: expect.stringMatching(/Content-Length/) });
  });
});

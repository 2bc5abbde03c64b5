/**
 * `weft svid inspect FILE|-`: what an X.509-SVID (PEM chain) or a JWT-SVID
 * says: SPIFFE ID, issuer, validity and chain. Reads only; verifies nothing.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type CredentialSummary, inspectCredential } from '../../shared/identity/inspect.js';
import { ValidationError } from '../../shared/model/errors.js';
import type { Command } from '../command.js';
import { EXIT, RequestError, UsageError } from '../errors.js';
import { readStdin } from '../manifests.js';

export const svidCommand: Command = {
  name: 'svid',
  summary: 'Inspect an X.509-SVID or JWT-SVID',
  usage: 'svid inspect FILE|-',
  description: [
    'Prints the SPIFFE ID, issuer, validity and chain of a PEM certificate chain, or the',
    'subject, audience and expiry of a JWT-SVID. FILE - reads stdin. Nothing is verified.',
  ].join('\n'),
  flags: [],
  examples: ['weft svid inspect .weft-agent/svid.pem', 'echo "$JWT" | weft svid inspect -'],
  options: {},
  positionals: { min: 2, max: 2 },
  connects: false,

  async run({ positionals }, ctx) {
    if (positionals[0] !== 'inspect')
      throw new UsageError(`unknown svid action "${positionals[0]}"; use inspect`, 'svid');
    const file = positionals[1]!;
    let text: string;
    try {
      text = file === '-' ? await readStdin(ctx) : await readFile(resolve(ctx.cwd, file), 'utf8');
    } catch (cause) {
      throw new RequestError(`cannot read ${file}: ${(cause as Error).message}`, [], { cause });
    }
    try {
      ctx.out(format(inspectCredential(text)));
    } catch (error) {
      if (error instanceof ValidationError) throw new RequestError(`${file}: ${error.message}`);
      throw error;
    }
    return EXIT.ok;
  },
};

function format(c: CredentialSummary): string {
  if (c.type === 'jwt-svid') {
    return [
      'JWT-SVID',
      `  SPIFFE ID  ${c.spiffeId ?? '(no sub)'}`,
      `  audience   ${c.audience.join(', ') || '(none)'}`,
      `  issued     ${c.issuedAt ?? '-'}`,
      `  expires    ${c.expiresAt ?? '-'}${expiry(c.expiresAt)}`,
      `  key        ${c.keyId ?? '-'} (${c.algorithm ?? '-'})`,
    ].join('\n');
  }
  const [leaf] = c.chain;
  return [
    'X.509-SVID',
    `  SPIFFE ID  ${c.spiffeId ?? '(no spiffe:// URI SAN: not an SVID)'}`,
    `  issuer     ${leaf?.issuer ?? '-'}`,
    `  valid      ${leaf?.notBefore} .. ${leaf?.notAfter}${expiry(leaf?.notAfter)}`,
    `  chain      ${c.chain.length} certificate(s)`,
    ...c.chain.map(
      (cert, i) =>
        `    ${i}: ${cert.isCa ? 'CA ' : ''}${cert.uris[0] ?? cert.subject}  (issuer ${cert.issuer}, until ${cert.notAfter})`,
    ),
  ].join('\n');
}

function expiry(at: string | undefined): string {
  if (!at) return '';
  const left = Date.parse(at) - Date.now();
  if (left <= 0) return '  (EXPIRED)';
  const minutes = Math.round(left / 60_000);
  return minutes < 120 ? `  (in ${minutes} min)` : `  (in ${Math.round(minutes / 60)} h)`;
}

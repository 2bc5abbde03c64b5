/**
 * `weft svid inspect FILE|-`: what an X.509-SVID (PEM chain) or a JWT-SVID
 * says: SPIFFE ID, issuer, validity and chain. Reads only; verifies nothing.
 * `weft svid mint` (an operator's JWT-SVID from the API) is `svid-mint.ts`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type CredentialSummary, inspectCredential } from '../../shared/identity/inspect.js';
import { ValidationError } from '../../shared/model/errors.js';
import type { Command, CommandContext } from '../command.js';
import { EXIT, InputError, UsageError } from '../errors.js';
import { readStdin } from '../manifests.js';
import { MINT_FLAGS, MINT_OPTIONS, mintJwtSvid } from './svid-mint.js';

export const svidCommand: Command = {
  name: 'svid',
  usage: 'svid inspect FILE|-  |  svid mint --spiffe-id ID [--audience AUD] [--ttl DURATION] [flags]',
  description: [
    'inspect prints the SPIFFE ID, issuer, validity and chain of a PEM certificate chain, or the',
    'subject, audience and expiry of a JWT-SVID. FILE - reads stdin. Nothing is verified.',
    '',
    "mint asks the API for a JWT-SVID of a Gateway or Service (admin token; SPIRE's `jwt mint`)",
    'and prints only the token, so a call through the mesh can mint a fresh one each time:',
    '  curl -x 127.0.1.1:15001 -H "Authorization: Bearer $(weft svid mint --spiffe-id ...)" URL',
  ].join('\n'),
  flags: MINT_FLAGS,
  examples: [
    'weft svid inspect .weft-agent/svid.pem',
    'echo "$JWT" | weft svid inspect -',
    'weft svid mint --spiffe-id spiffe://weft.demo/ns/shop/svc/frontend',
    'weft svid mint --spiffe-id spiffe://weft.demo/ns/shop/svc/frontend --ttl 1m | weft svid inspect -',
  ],
  options: MINT_OPTIONS,
  positionals: { min: 0, max: 2 },
  connects: true,

  async run({ values, positionals }, ctx) {
    const [action, file] = positionals;
    if (action === 'mint') {
      if (file !== undefined) throw new UsageError(`unexpected argument "${file}"`, 'svid');
      return mintJwtSvid(values, ctx);
    }
    if (action !== 'inspect') {
      const what = action === undefined ? 'svid needs an action' : `unknown svid action "${action}"`;
      throw new UsageError(`${what}; use inspect FILE|- or mint --spiffe-id ID`, 'svid');
    }
    if (file === undefined) throw new UsageError('svid inspect needs FILE, or - for stdin', 'svid');
    return inspect(file, ctx);
  },
};

async function inspect(file: string, ctx: CommandContext): Promise<number> {
  let text: string;
  try {
    text = file === '-' ? await readStdin(ctx) : await readFile(resolve(ctx.cwd, file), 'utf8');
  } catch (cause) {
    throw new InputError(`cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    ctx.out(format(inspectCredential(text)));
  } catch (error) {
    if (error instanceof ValidationError) throw new InputError(`${file}: ${error.message}`);
    throw error;
  }
  return EXIT.ok;
}

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

import { generateKeyPairSync, sign, verify } from 'node:crypto';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  KMSClient,
  ListResourceTagsCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import { compactVerify, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsKeyRing } from '../../../functions/aws/kms-key-ring.js';
import { derToJoseSignature, KmsSigner } from '../../../functions/aws/kms-signer.js';
import { KMS_MAX_MESSAGE_BYTES, signCompactJws } from '../../../shared/identity/signer.js';
import { UnavailableError, WeftError } from '../../../shared/model/errors.js';
import { describeSignerContract } from '../../contract/signer.js';
import { type Moto, startMoto } from '../../support/moto.js';

let moto: Moto;
let kms: KMSClient;
let rings = 0;

beforeAll(async () => {
  moto = await startMoto();
  kms = new KMSClient(moto.clientConfig);
});
afterAll(async () => {
  kms?.destroy();
  await moto?.stop();
});

/** Each test its own alias prefix: moto keeps its keys, and nothing needs a reset. */
const ringOptions = () => ({ client: kms, aliasPrefix: `alias/weft/t${++rings}`, keyTag: 'test' });

describeSignerContract(
  'KmsKeyRing on moto',
  async () => {
    const options = ringOptions();
    return { ring: () => new KmsKeyRing(options), close: async () => {} };
  },
  // moto signs RAW messages only, which is what KmsSigner sends; it would also sign past 4096 bytes,
  // which real KMS refuses: the contract checks that signCompactJws stops those first.
  { maxMessageBytes: KMS_MAX_MESSAGE_BYTES },
);

describe('KmsKeyRing', () => {
  it('creates a tagged ECC_NIST_P256 SIGN_VERIFY key behind <aliasPrefix>/<id> on first use', async () => {
    const options = ringOptions();
    const signer = (await new KmsKeyRing(options).open('aws-x509-3fa2c1b0d9e8')) as KmsSigner;
    expect(signer.keyId).toBe('aws-x509-3fa2c1b0d9e8');
    const { KeyMetadata } = await kms.send(
      new DescribeKeyCommand({ KeyId: `${options.aliasPrefix}/aws-x509-3fa2c1b0d9e8` }),
    );
    expect(KeyMetadata).toMatchObject({
      Arn: signer.keyArn,
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
    });
    expect(KeyMetadata?.Description).toContain('aws-x509-3fa2c1b0d9e8');
    const { Tags } = await kms.send(new ListResourceTagsCommand({ KeyId: signer.keyArn }));
    expect(Tags).toContainEqual({ TagKey: 'weft:control-plane', TagValue: 'test' });
  });

  it('ends a creation race on the alias key, scheduling the loser key for deletion', async () => {
    const options = ringOptions();
    const winner = new KmsKeyRing(options);
    const id = 'aws-jwt-race';
    // The loser's client lets the winner make the alias between the loser's CreateKey and its CreateAlias.
    const loserClient = new KMSClient(moto.clientConfig);
    let loserKey: string | undefined;
    loserClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CreateAliasCommand') {
          loserKey = (args.input as { TargetKeyId: string }).TargetKeyId;
          await winner.open(id);
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const lost = await new KmsKeyRing({ ...options, client: loserClient }).open(id);
    const won = await winner.open(id);
    expect(await lost.publicKeyJwk()).toStrictEqual(await won.publicKeyJwk());
    expect((lost as KmsSigner).keyArn).toBe((won as KmsSigner).keyArn);
    expect(loserKey).toBeDefined();
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: loserKey! }));
    expect(KeyMetadata?.KeyState).toBe('PendingDeletion');
    loserClient.destroy();
  });

  it('fetches the public key once per signer', async () => {
    const client = new KMSClient(moto.clientConfig);
    const commands: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        commands.push(context.commandName ?? '');
        return next(args);
      },
      { step: 'initialize' },
    );
    const signer = await new KmsKeyRing({ ...ringOptions(), client }).open('aws-jwt-cache');
    await Promise.all([signer.publicKeyJwk(), signer.publicKeyJwk()]);
    await signer.publicKeyJwk();
    expect(commands.filter((c) => c === 'GetPublicKeyCommand')).toHaveLength(1);
    client.destroy();
  });

  it('refuses an alias that names a key which cannot sign ES256', async () => {
    const options = ringOptions();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT' }));
    await kms.send(
      new CreateAliasCommand({
        AliasName: `${options.aliasPrefix}/aws-jwt-sym`,
        TargetKeyId: KeyMetadata!.KeyId,
      }),
    );
    await expect(new KmsKeyRing(options).open('aws-jwt-sym')).rejects.toThrow(/not an enabled ECC_NIST_P256/);
  });

  it('refuses bad configuration and key ids', async () => {
    for (const aliasPrefix of ['weft', 'alias/', 'alias/weft/', 'alias/aws', 'alias/aws/x', 'alias/we ft'])
      expect(() => new KmsKeyRing({ client: kms, aliasPrefix, keyTag: 't' }), aliasPrefix).toThrow(TypeError);
    expect(() => new KmsKeyRing({ client: kms, aliasPrefix: 'alias/weft', keyTag: '' })).toThrow(TypeError);
    const ring = new KmsKeyRing(ringOptions());
    for (const id of ['', '../x', 'a/b', 'a.b', '-x'])
      await expect(ring.open(id), id).rejects.toThrow(TypeError);
  });
});

describe('KmsSigner', () => {
  it('opens a key by ARN directly (the relay key the CDK construct creates)', async () => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    const signer = new KmsSigner({ client: kms, keyId: KeyMetadata!.Arn! });
    expect(signer.keyId).toBe(KeyMetadata!.Arn);
    expect(signer.maxMessageBytes).toBe(4096);
    const jws = await signCompactJws(signer, { kid: 'relay' }, 'payload');
    await compactVerify(jws, await importJWK(await signer.publicKeyJwk(), 'ES256'));
  });

  it('reports a key that does not exist as UnavailableError', async () => {
    const signer = new KmsSigner({
      client: kms,
      keyId: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
    });
    await expect(signer.sign(new Uint8Array(1))).rejects.toBeInstanceOf(UnavailableError);
    await expect(signer.publicKeyJwk()).rejects.toBeInstanceOf(UnavailableError);
  });

  it('refuses a public key that is not P-256', async () => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P384', KeyUsage: 'SIGN_VERIFY' }),
    );
    const signer = new KmsSigner({ client: kms, keyId: KeyMetadata!.Arn! });
    await expect(signer.publicKeyJwk()).rejects.toBeInstanceOf(WeftError);
  });

  it('turns what KMS signs with into r||s (moto, real DER from a real ECDSA)', async () => {
    const { KeyMetadata } = await kms.send(
      new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }),
    );
    const { Signature } = await kms.send(
      new SignCommand({
        KeyId: KeyMetadata!.KeyId,
        Message: new TextEncoder().encode('x'),
        MessageType: 'RAW',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    expect(Signature![0]).toBe(0x30);
    expect(derToJoseSignature(Signature!)).toHaveLength(64);
  });
});

describe('derToJoseSignature', () => {
  const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
  const ff = 'ff'.repeat(32);
  const seven = '7f'.repeat(32);

  it('drops the sign byte of a 33-byte integer', () => {
    expect(Buffer.from(derToJoseSignature(hex(`3046 0221 00${ff} 0221 00${ff}`))).toString('hex')).toBe(
      ff + ff,
    );
  });

  it('left-pads short integers (leading zeros DER drops)', () => {
    const out = derToJoseSignature(hex(`3025 0201 01 0220 ${seven}`));
    expect(Buffer.from(out).toString('hex')).toBe(`${'00'.repeat(31)}01${seven}`);
    const both = derToJoseSignature(hex(`3006 0201 05 0201 06`));
    expect(Buffer.from(both).toString('hex')).toBe(`${'00'.repeat(31)}05${'00'.repeat(31)}06`);
  });

  it('reads a long-form sequence length', () => {
    // 0x81 only appears for lengths of 128 and more: impossible for P-256, fine for a 64-byte size.
    const r = `0241 00${'ff'.repeat(64)}`;
    const der = hex(`3081 86 ${r} ${r}`);
    expect(derToJoseSignature(der, 64)).toStrictEqual(new Uint8Array(128).fill(0xff));
  });

  it('agrees with node:crypto on real signatures, the short ones included', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // About one signature in 128 has an r or s under 32 bytes: sign until a few came up.
    let short = 0;
    for (let i = 0; i < 20_000 && short < 4; i++) {
      const message = Buffer.from(`m${i}`);
      const der = sign('sha256', message, privateKey);
      const isShort = der.length < 70;
      if (isShort) short += 1;
      if (!isShort && i % 20 !== 0) continue;
      const raw = derToJoseSignature(der);
      expect(raw).toHaveLength(64);
      expect(verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw), `m${i}`).toBe(
        true,
      );
    }
    expect(short).toBe(4);
  });

  it('refuses what is not one minimal DER SEQUENCE of two integers that fit', () => {
    for (const bad of [
      '',
      '3000',
      '3106 0201 05 0201 06', // not a SEQUENCE
      '3006 0201 05 0201', // truncated
      '3007 0201 05 0201 06 00', // trailing byte inside
      '3006 0201 05 0201 06 00', // trailing byte outside
      '3006 0301 05 0201 06', // not an INTEGER
      '3006 0201 85 0201 06', // negative
      '3007 0202 0005 0201 06', // not minimal
      `3045 0221 01${ff} 0220 ${seven}`, // 33 significant bytes
      '3082 0006 0201 05 0201 06', // length too long a form
      '3081 06 0201 05 0201 06', // long form for a short length
    ]) {
      expect(() => derToJoseSignature(hex(bad)), bad).toThrow(TypeError);
    }
  });
});

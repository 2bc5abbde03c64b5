/**
 * The Function App's code package: `functions/azure/index.ts` (which
 * registers all seven functions) bundled by esbuild as AWS's functions are
 * (`WEFT_BUNDLING`: one minified ESM file, SDKs inside), with `host.json`
 * and a `package.json` whose `main` names the bundle, zipped for
 * `az functionapp deployment source config-zip`. No npm install runs in
 * Azure, and the zip is byte-for-byte reproducible.
 *
 * CLI: `node --import tsx infra/azure/bundle.ts [out-dir]` prints the zip's path.
 *
 * @module
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { WEFT_BUNDLING } from '../aws/functions.js';
import { AZURE_ROUTE_PREFIX } from './template.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The entry that registers every function (v4 programming model). */
export const AZURE_FUNCTIONS_ENTRY = 'functions/azure/index.ts';

/** The bundle's file name, and `package.json`'s `main`. */
export const AZURE_BUNDLE_FILE = 'index.mjs';

/**
 * The Functions host's configuration. HTTP routes sit below `api/` (the
 * template's webhook URLs and API URL assume it); the timers (sweep every
 * minute, reconcile every 15) are declared in code, not here.
 */
export const AZURE_HOST_JSON = {
  version: '2.0',
  extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
  extensions: { http: { routePrefix: AZURE_ROUTE_PREFIX } },
  functionTimeout: '00:02:00',
  logging: {
    applicationInsights: { samplingSettings: { isEnabled: true, excludedTypes: 'Request' } },
  },
} as const;

export const AZURE_PACKAGE_JSON = {
  name: 'weft-functions',
  private: true,
  type: 'module',
  main: AZURE_BUNDLE_FILE,
} as const;

export interface BundleAzureOptions {
  /** Where the zip (and the files in it) are written. */
  readonly outDir: string;
  /** Relative to the repository root, or absolute. @default {@link AZURE_FUNCTIONS_ENTRY} */
  readonly entry?: string;
}

export interface AzureBundle {
  /** The zip's path. */
  readonly zip: string;
  /** The names in the zip. */
  readonly files: readonly string[];
  /** The bundle's size before compression. */
  readonly bundleBytes: number;
}

/**
 * Bundles, writes and zips the package.
 *
 * @throws Error with esbuild's messages when the entry does not build.
 * @example
 * const { zip } = await bundleAzureFunctions({ outDir: '/tmp/weft-azure' });
 */
export async function bundleAzureFunctions(options: BundleAzureOptions): Promise<AzureBundle> {
  const entry = options.entry ?? AZURE_FUNCTIONS_ENTRY;
  const { banner, external, mainFields, ...rest } = WEFT_BUNDLING;
  const outfile = join(options.outDir, 'package', AZURE_BUNDLE_FILE);
  await mkdir(dirname(outfile), { recursive: true });
  await build({
    ...rest,
    banner: { js: banner },
    // The Functions worker provides this module to the code it loads; everything else is bundled.
    external: [...external, '@azure/functions-core'],
    mainFields: [...mainFields],
    entryPoints: [isAbsolute(entry) ? entry : join(ROOT, entry)],
    absWorkingDir: ROOT,
    nodePaths: [join(ROOT, 'node_modules')],
    outfile,
    bundle: true,
    logLevel: 'silent',
  });
  const code = await readFile(outfile);
  const files = [
    { name: 'host.json', data: Buffer.from(`${JSON.stringify(AZURE_HOST_JSON, null, 2)}\n`) },
    { name: 'package.json', data: Buffer.from(`${JSON.stringify(AZURE_PACKAGE_JSON, null, 2)}\n`) },
    { name: AZURE_BUNDLE_FILE, data: code },
  ];
  for (const file of files.slice(0, 2))
    await writeFile(join(options.outDir, 'package', file.name), file.data);
  const zip = join(options.outDir, 'weft-functions.zip');
  await writeFile(zip, zipFiles(files));
  return { zip, files: files.map((f) => f.name), bundleBytes: code.length };
}

/**
 * A zip archive of `files` (deflated, fixed 1980-01-01 timestamps, mode
 * 0644): the few lines of the format a package needs, so deploying needs no
 * `zip` program.
 */
export function zipFiles(files: readonly { readonly name: string; readonly data: Buffer }[]): Buffer {
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const deflated = deflateRawSync(data, { level: 9 });
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 (so the mode below is read)
    local.copy(central, 6, 4, 30); // version needed .. name length: the same fields
    central.writeUInt16LE(0, 30); // extra, comment, disk, internal attributes: none
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, deflated);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + deflated.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'weft-azure-')));
  const bundle = await bundleAzureFunctions({ outDir });
  process.stderr.write(`bundled ${bundle.files.join(', ')} (${bundle.bundleBytes} bytes of code)\n`);
  process.stdout.write(`${bundle.zip}\n`);
}

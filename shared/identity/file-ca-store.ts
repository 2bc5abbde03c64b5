/**
 * The embedded {@link CaStore}: one JSON file, `<dataDir>/ca/state.json`,
 * replaced atomically (write a temp file, then rename). It holds only public
 * material, yet is written 0600 like the keys: an operator's `ls -l` of the
 * data dir should show nothing world-readable.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WeftError } from '../model/errors.js';
import { type CaState, type CaStore, checkSequence } from './ca-store.js';

/** Keeps the CA state in a JSON file under the data directory. */
export class FileCaStore implements CaStore {
  readonly #dir: string;
  readonly #path: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    this.#dir = join(dataDir, 'ca');
    this.#path = join(this.#dir, 'state.json');
  }

  async load(): Promise<CaState | undefined> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const state = JSON.parse(text) as CaState;
      if (state.version !== 1) throw new Error(`unknown version ${String(state.version)}`);
      return state;
    } catch (error) {
      throw new WeftError('ERR_INTERNAL', 500, `CA state ${this.#path} is unreadable`, { cause: error });
    }
  }

  /** Compare-and-set, serialised within one process; across processes the last rename wins. */
  save(state: CaState, expectedSequence: number | null): Promise<void> {
    const run = this.#queue.then(() => this.#save(state, expectedSequence));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #save(state: CaState, expectedSequence: number | null): Promise<void> {
    checkSequence(await this.load(), expectedSequence);
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await chmod(this.#dir, 0o700);
    const tmp = `${this.#path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(tmp, this.#path);
  }
}

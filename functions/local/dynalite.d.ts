/**
 * Types for the parts of dynalite 4 (CommonJS, untyped) that weft uses.
 *
 * @module
 */
declare module 'dynalite' {
  import type { Server } from 'node:http';

  export interface DynaliteOptions {
    /** LevelDB directory; in memory when omitted. */
    path?: string;
    /** How long a new table stays CREATING. Default: 500. */
    createTableMs?: number;
    /** How long a deleted table stays DELETING. Default: 500. */
    deleteTableMs?: number;
    /** How long an updated table stays UPDATING. Default: 500. */
    updateTableMs?: number;
    /** Largest item, as in DynamoDB. Default: 400. */
    maxItemSizeKb?: number;
    ssl?: boolean;
    verbose?: boolean;
    debug?: boolean;
  }

  /**
   * An HTTP server speaking the DynamoDB API. Its `close` also closes the
   * LevelDB store once pending operations finish.
   */
  export default function dynalite(options?: DynaliteOptions): Server;
}

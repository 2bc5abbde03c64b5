/**
 * `-o yaml` and `-o json` for `weft get`. YAML is multi-document and goes
 * straight back into `weft apply -f -` (the API ignores `status` on input).
 *
 * @module
 */
import { stringify } from 'yaml';

/** Documents as multi-document YAML, one `---` between each. */
export function toYaml(docs: readonly unknown[]): string {
  // lineWidth 0: never fold long strings (SPIFFE IDs, URLs) across lines.
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** A value as indented JSON with a trailing newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

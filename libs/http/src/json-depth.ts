/** Deepest nesting of objects and arrays a JSON body may have. Real payloads here nest fewer than 10 levels. */
export const JSON_MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * Whether the JSON text nests objects and arrays deeper than `maxDepth`, found in one pass over the
 * bytes without parsing: brackets inside strings do not count. The check runs before `JSON.parse`
 * so that nothing downstream (validation, transformation, logging) ever recurses over a
 * 10 000-level body. UTF-8 continuation bytes never equal the ASCII bytes looked at, so a Buffer
 * can be scanned as it arrived.
 */
export function jsonNestingExceeds(text: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index += 1) {
    const byte = text[index];
    if (inString) {
      if (byte === BACKSLASH) index += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth -= 1;
    }
  }
  return false;
}

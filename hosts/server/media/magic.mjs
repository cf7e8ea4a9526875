// Magic bytes: whether a file's first bytes fit its declared MIME type. The
// signatures come from the core's media plan (core/sql/media_sql.cpp); a type
// the core knows no signature for is not sniffed.

/** The most leading bytes any signature reads (offset + length). */
export function magicHeadLength(signatures) {
  let n = 0;
  for (const alternatives of Object.values(signatures)) {
    for (const all of alternatives) for (const { offset, hex } of all) n = Math.max(n, offset + hex.length / 2);
  }
  return n;
}

/**
 * True when `head` (the file's first bytes) matches one of `alternatives`
 * (each a list of {offset, hex} that must all match), or none are known.
 * @param {Uint8Array} head
 * @param {{offset: number, hex: string}[][]} alternatives
 */
export function matchesMagic(head, alternatives) {
  if (!alternatives || alternatives.length === 0) return true;
  return alternatives.some((all) => all.every(({ offset, hex }) => {
    if (head.length < offset + hex.length / 2) return false;
    for (let i = 0; i < hex.length / 2; i++) {
      if (head[offset + i] !== parseInt(hex.slice(2 * i, 2 * i + 2), 16)) return false;
    }
    return true;
  }));
}

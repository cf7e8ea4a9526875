// Reading a request body against a byte limit, for every media backend (the
// filesystem store of the node host, the multipart store of S3 and R2):
// environment-neutral, on a web ReadableStream of Uint8Array chunks, so node
// and workerd read alike.

/**
 * Reads `body` chunk by chunk, awaiting `onChunk(chunk)` for each, while at
 * most `limit` bytes in all have arrived. The chunk that would go past the
 * limit is not handed on: the stream is cancelled and the answer is
 * `{size, tooLarge: true}` (`size`: the bytes handed on before it); otherwise
 * `{size, tooLarge: false}` at the end of the stream. A stream that breaks
 * (a cut connection) or an `onChunk` that throws rejects with that error,
 * after `onChunk` saw every chunk that arrived before it (the stream is
 * cancelled when `onChunk` threw). A null body reads as empty.
 *
 * @param {ReadableStream<Uint8Array>|null|undefined} body
 * @param {number} limit bytes the body may carry
 * @param {(chunk: Uint8Array) => unknown} onChunk
 * @returns {Promise<{size: number, tooLarge: boolean}>}
 */
export async function readLimited(body, limit, onChunk) {
  let size = 0;
  if (!body) return { size, tooLarge: false };
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { size, tooLarge: false };
    if (size + value.byteLength > limit) {
      await reader.cancel().catch(() => {});
      return { size, tooLarge: true };
    }
    size += value.byteLength;
    try {
      await onChunk(value);
    } catch (e) {
      await reader.cancel(e).catch(() => {});
      throw e;
    }
  }
}

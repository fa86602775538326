/** A response body stream as undici gives it. */
export interface BodyStream extends AsyncIterable<Buffer> {
  destroy(err?: Error): void;
}

/**
 * Reads at most `max` bytes of a body. Past the cap: `null` (the caller
 * refuses the body), or with `truncate` the first `max` bytes (for error
 * snippets). Either way the rest is never read.
 */
export async function readCapped(body: BodyStream, max: number, truncate = false): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      if (!truncate) return null;
      chunks.push(chunk.subarray(0, chunk.length - (size - max)));
      return Buffer.concat(chunks);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

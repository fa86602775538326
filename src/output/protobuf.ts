// Just enough protobuf encoding for Pyroscope's PushRequest: varint lengths
// and length-delimited fields (strings, bytes, nested messages).

const WIRE_LEN = 2;

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** One length-delimited field: tag, length, bytes. */
export function lenField(field: number, data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([varint((field << 3) | WIRE_LEN), varint(bytes.length), bytes]);
}

/** A message made of length-delimited fields. */
export function message(fields: ReadonlyArray<Buffer>): Buffer {
  return Buffer.concat(fields);
}

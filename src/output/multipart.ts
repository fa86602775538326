// A multipart/form-data body built byte for byte, so the wire format is
// exactly what the intake parser expects (part order, names, filenames,
// per-part content types).

import { randomBytes } from 'node:crypto';

export interface FilePart {
  readonly name: string;
  readonly filename: string;
  readonly contentType: string;
  readonly data: Uint8Array;
}

export interface MultipartBody {
  readonly contentType: string;
  readonly body: Buffer;
}

function quote(s: string): string {
  // RFC 7578: quotes, CR and LF in names are percent-encoded.
  return s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

export function buildMultipart(parts: readonly FilePart[], boundary = `----pprof-collector-${randomBytes(12).toString('hex')}`): MultipartBody {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    chunks.push(
      Buffer.from(
        `--${boundary}\r\n` +
          `Content-Disposition: form-data; name="${quote(p.name)}"; filename="${quote(p.filename)}"\r\n` +
          `Content-Type: ${p.contentType}\r\n\r\n`,
      ),
      Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.concat(chunks) };
}

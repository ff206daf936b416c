import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import busboy from 'busboy';

export interface MultipartForm {
  fields: Map<string, string>;
  file: { filename: string; data: Buffer; truncated: boolean } | undefined;
}

/** Reads a `multipart/form-data` body: text fields plus the one part named `file`. */
export function parseMultipart(
  headers: IncomingHttpHeaders,
  body: Buffer,
  maxFileBytes: number,
): Promise<MultipartForm> {
  return new Promise((resolve, reject) => {
    const form: MultipartForm = { fields: new Map(), file: undefined };
    const parser = busboy({ headers, limits: { fileSize: maxFileBytes, fieldSize: 1024 * 1024 } });
    parser.on('field', (name, value) => {
      form.fields.set(name, value);
    });
    parser.on('file', (name, stream, info) => {
      if (name !== 'file') {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        form.file = {
          filename: info.filename ?? 'import.csv',
          data: Buffer.concat(chunks),
          truncated: stream.truncated === true,
        };
      });
    });
    parser.on('close', () => resolve(form));
    parser.on('error', reject);
    Readable.from([body]).pipe(parser);
  });
}

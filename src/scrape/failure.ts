// What a failed scrape was, as a code and words, for the errors that are
// not Go's pprof answers (those are ScrapeErrors with their own codes).

import { TlsFileError } from '../core/dispatcher.js';
import { InvalidProfileError, ProfileTooLargeError } from '../profile/errors.js';
import { CredentialError } from './target-auth.js';

export function failureOf(err: unknown, url: string): { code: string; message: string } {
  if (err instanceof InvalidProfileError) return { code: 'invalid_profile', message: `${url}: ${err.message}` };
  if (err instanceof ProfileTooLargeError) return { code: 'too_large', message: `${url}: ${err.message}` };
  if (err instanceof CredentialError) return { code: err.code, message: err.message };
  if (err instanceof TlsFileError) return { code: 'tls_file', message: err.message };
  return { code: 'internal', message: `unexpected error: ${(err as Error)?.stack ?? String(err)}` };
}

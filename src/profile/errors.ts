/** The body is not a usable pprof profile; the message says what it is instead. */
export class InvalidProfileError extends Error {
  override name = 'InvalidProfileError';
  readonly code = 'ERR_PROFILE_INVALID';
}

/** The profile decompresses past the configured cap (a gzip bomb, or a huge profile). */
export class ProfileTooLargeError extends Error {
  override name = 'ProfileTooLargeError';
  readonly code = 'ERR_PROFILE_TOO_LARGE';
}

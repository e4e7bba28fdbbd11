// Which step errors another attempt cannot fix. Pure (no imports), so the workflow code can
// name the same types in its retry policies.

/**
 * Error types that mean the input or the request is wrong: bad rows, missing objects or
 * buckets, malformed URIs or manifests, a store that is not configured. They fail on the
 * first attempt, whatever the step's retry policy says. Infrastructure errors
 * (StoreUnavailableError: S3 unreachable for the store's whole retry budget) stay retryable.
 */
export const NON_RETRYABLE_ERROR_TYPES: readonly string[] = Object.freeze([
  'BadInput',
  'ValidationError',
  'DatasetRowError',
  'ArtifactNotFoundError',
  'BucketNotFoundError',
  'InvalidUriError',
  'UnsafeKeyError',
  'ManifestError',
  'StoreConfigError',
]);

export function isNonRetryableError(err: { name?: string } | undefined): boolean {
  return !!err?.name && NON_RETRYABLE_ERROR_TYPES.includes(err.name);
}

/** The store's error types. Their `name`s are what Temporal failures carry as their type. */

export class ArtifactStoreError extends Error {
  override name = 'ArtifactStoreError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class ArtifactNotFoundError extends ArtifactStoreError {
  override name = 'ArtifactNotFoundError';
  constructor(readonly uri: string) {
    super(`artifact not found: ${uri}`, 'NotFound');
  }
}

/** The bucket itself does not exist: retrying cannot help. */
export class BucketNotFoundError extends ArtifactNotFoundError {
  override name = 'BucketNotFoundError';
  constructor(
    readonly bucket: string,
    uri: string,
  ) {
    super(uri);
    this.message = `bucket "${bucket}" does not exist (${uri}): create it or fix the URI`;
  }
}

export class ArtifactIntegrityError extends ArtifactStoreError {
  override name = 'ArtifactIntegrityError';
  constructor(
    readonly uri: string,
    readonly reason: string,
  ) {
    super(`integrity check failed for ${uri}: ${reason}`, 'Integrity');
  }
}

export class ManifestError extends ArtifactStoreError {
  override name = 'ManifestError';
}

/**
 * S3 stayed unreachable (connection refused/reset, timeouts, 5xx) for the whole retry budget.
 * An infrastructure failure, not the step's: retrying the step later may well succeed.
 */
export class StoreUnavailableError extends ArtifactStoreError {
  override name = 'StoreUnavailableError';
  constructor(
    message: string,
    code: string | undefined,
    readonly uri: string,
    readonly attempts: number,
  ) {
    super(message, code);
  }
}

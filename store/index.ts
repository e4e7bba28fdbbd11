/** Public entry point of the artifact store. */
export * from './config.js';
export * from './keys.js';
export {
  ArtifactStore,
  ArtifactStoreError,
  ArtifactNotFoundError,
  ArtifactIntegrityError,
  BucketNotFoundError,
  ManifestError,
  StoreUnavailableError,
  validateManifest,
  assertMemberName,
  VerifyingStream,
  ARTIFACT_KINDS,
  MANIFEST_SCHEMA,
  MANIFEST_MEDIA_TYPE,
  sha256Hex,
  bundleDigest,
  guessMediaType,
} from './artifacts.js';
export type {
  ArtifactKind,
  ArtifactManifest,
  ArtifactRef,
  ArtifactInput,
  BundleFile,
  PutMeta,
  PutSource,
  Producer,
  StoreOptions,
  ListEntry,
  LineageNode,
  GcOptions,
  GcResult,
  ResolvedUri,
} from './artifacts.js';
export * from './datasets.js';
export * from './checkpoints.js';
export { Channels, ChannelConflictError, CHANNEL_SCHEMA, promote, latest, history } from './channels.js';
export type { ChannelPointer } from './channels.js';
export { classifyS3Error, resilienceFromEnv, DEFAULT_RESILIENCE } from './resilience.js';
export type { ResilienceOptions, RetryNotice, FaultClass } from './resilience.js';

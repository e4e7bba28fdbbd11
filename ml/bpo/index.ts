// Pure BPO algorithms: no Temporal, no S3, no tensors.
export { kmeans, kmeansPlusPlusInit, type KMeansOptions, type KMeansResult } from './kmeans.js';
export { project, rademacherProject, sketchProject, type ProjectionKind } from './projection.js';
export { warmupMoments, adamPrecondition, type AdamMoments, type AdamOptions } from './adam.js';
export { allocate, AllocationError, type AllocateInput } from './allocate.js';
export {
  informativeness,
  usefulness,
  groupUsefulness,
  groupOf,
  magnitudeScores,
  optimizationDirection,
  pairScores,
  promptScores,
  scoreWeight,
  type InformativenessMode,
  type ScoreWeights,
  type PromptAggregate,
} from './scores.js';
export { pca2 } from './pca.js';
export { selectRepresentatives, type SelectOptions } from './select.js';
export { cosine, normalize, mean, dot, norm } from './vec.js';
export { depthSelection, type DepthOptions, type DepthResult } from './depth.js';

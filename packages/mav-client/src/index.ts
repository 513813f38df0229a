export type { MavAnomaly, MavAnomalyDetector, MavAnomalyKind, MavAnomalyOptions } from './anomalies'
export {
  chosenProbability,
  createAnomalyDetector,
  DEFAULT_LOW_PROBABILITY,
  findAnomalies,
  nextMarked,
  robustZ,
} from './anomalies'
export type { MavDistributionBin } from './binDistribution'
export { binDistribution } from './binDistribution'
export type { MavBranchPoint, MavRunSource } from './branching'
export { branchRequest, nextStepRequest } from './branching'
export type { MavClient, MavClientOptions, MavHeaders, MavRequestOptions, MavRunOptions } from './client'
export { createMavClient } from './client'
export type { MavStepDiff, MavTokenMatch, MavTokenProbability } from './compare'
export { diffLayers, diffStep, resampleDepth, sharedSupportKl, tokenMatchFor } from './compare'
export { headTargets, settlingLayer } from './detail'
export type { MavProtocolErrorType } from './errors'
export { MavHttpError, MavProtocolError } from './errors'
export type { FromOpenMavOptions, OpenMavMeasurement } from './fromOpenMav'
export { fromOpenMavMeasurement } from './fromOpenMav'
export type { ParseMavStreamOptions } from './parseMavStream'
export { decodeMavMessage, parseMavStream } from './parseMavStream'
export * from './protocol/index'
export type { MavRecording } from './recording'
export { parseRecording, serializeRecording } from './recording'
export type { ReplayOptions } from './replay'
export { replay } from './replay'
export type {
  MavResolvedRetryPolicy,
  MavRetryInfo,
  MavRetryingClient,
  MavRetryPolicy,
  MavRetryRunOptions,
} from './retry'
export { retryDelay, withRetries } from './retry'
export type { MavConsumeOptions, MavRunState, MavRunStatus, MavRunStore } from './runStore'
export { createRunStore, toErrorEvent } from './runStore'
export type { MavScale } from './scaling'
export { applyScaling } from './scaling'
export type { StepList } from './stepList'

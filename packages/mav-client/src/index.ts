export type { MavDistributionBin } from './binDistribution'
export { binDistribution } from './binDistribution'
export type { MavClient, MavClientOptions, MavHeaders, MavRequestOptions } from './client'
export { createMavClient } from './client'
export type { MavProtocolErrorType } from './errors'
export { MavHttpError, MavProtocolError } from './errors'
export type { FromOpenMavOptions, OpenMavMeasurement } from './fromOpenMav'
export { fromOpenMavMeasurement } from './fromOpenMav'
export type { ParseMavStreamOptions } from './parseMavStream'
export { decodeMavMessage, parseMavStream } from './parseMavStream'
export type { MavErrorBody, MavHealthResponse, MavModelInfo, MavModelsResponse } from './protocol/endpoints'
export { errorBodySchema, healthResponseSchema, modelInfoSchema, modelsResponseSchema } from './protocol/endpoints'
export type {
  MavDoneData,
  MavErrorData,
  MavEventType,
  MavMetaData,
  MavPrediction,
  MavRunModel,
  MavStatusData,
  MavStepData,
} from './protocol/events'
export {
  doneDataSchema,
  errorDataSchema,
  eventDataSchemas,
  metaDataSchema,
  PROTOCOL_VERSION,
  predictionSchema,
  runModelSchema,
  statusDataSchema,
  stepDataSchema,
} from './protocol/events'
export type {
  MavDoneEvent,
  MavErrorEvent,
  MavEvent,
  MavEventIssue,
  MavMetaEvent,
  MavStatusEvent,
  MavStepEvent,
} from './protocol/mavEvent'
export { eventIssueSchema, mavEventSchema } from './protocol/mavEvent'
export type { MavToken } from './protocol/primitives'
export { tokenSchema } from './protocol/primitives'
export type { MavAggregation, MavEffectiveRequest, MavRunRequest } from './protocol/request'
export { aggregationSchema, MAX_TOP_N, runRequestSchema } from './protocol/request'
export type { MavRecording, MavRecordingHeader } from './recording'
export { parseRecording, RECORDING_FORMAT, recordingHeaderSchema, serializeRecording } from './recording'
export type { ReplayOptions } from './replay'
export { replay } from './replay'
export type { MavRunState, MavRunStatus, MavRunStore } from './runStore'
export { createRunStore, toErrorEvent } from './runStore'
export type { MavScale } from './scaling'
export { applyScaling } from './scaling'
export type { StepList } from './stepList'
export { stepListView } from './stepList'

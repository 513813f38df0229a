export { createMavClient } from './client'
export type { MavClient, MavClientOptions, MavHeaders, MavRequestOptions } from './client'
export { parseMavStream, decodeMavMessage } from './parseMavStream'
export type { ParseMavStreamOptions } from './parseMavStream'
export { createRunStore, toErrorEvent } from './runStore'
export type { MavRunState, MavRunStatus, MavRunStore } from './runStore'
export { stepListView } from './stepList'
export type { StepList } from './stepList'
export { applyScaling } from './scaling'
export type { MavScale } from './scaling'
export { binDistribution } from './binDistribution'
export type { MavDistributionBin } from './binDistribution'
export { fromOpenMavMeasurement } from './fromOpenMav'
export type { FromOpenMavOptions, OpenMavMeasurement } from './fromOpenMav'
export { serializeRecording, parseRecording, recordingHeaderSchema, RECORDING_FORMAT } from './recording'
export type { MavRecording, MavRecordingHeader } from './recording'
export { replay } from './replay'
export type { ReplayOptions } from './replay'
export { MavHttpError, MavProtocolError } from './errors'
export type { MavProtocolErrorType } from './errors'
export { tokenSchema } from './protocol/primitives'
export type { MavToken } from './protocol/primitives'
export { runRequestSchema, aggregationSchema, MAX_TOP_N } from './protocol/request'
export type { MavAggregation, MavEffectiveRequest, MavRunRequest } from './protocol/request'
export {
  PROTOCOL_VERSION,
  eventDataSchemas,
  metaDataSchema,
  statusDataSchema,
  stepDataSchema,
  errorDataSchema,
  doneDataSchema,
  predictionSchema,
  runModelSchema,
} from './protocol/events'
export type {
  MavEventType,
  MavMetaData,
  MavStatusData,
  MavStepData,
  MavErrorData,
  MavDoneData,
  MavPrediction,
  MavRunModel,
} from './protocol/events'
export { mavEventSchema, eventIssueSchema } from './protocol/mavEvent'
export type {
  MavEvent,
  MavEventIssue,
  MavMetaEvent,
  MavStatusEvent,
  MavStepEvent,
  MavErrorEvent,
  MavDoneEvent,
} from './protocol/mavEvent'
export { modelInfoSchema, modelsResponseSchema, healthResponseSchema, errorBodySchema } from './protocol/endpoints'
export type { MavModelInfo, MavModelsResponse, MavHealthResponse, MavErrorBody } from './protocol/endpoints'

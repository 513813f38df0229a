export type { MavErrorBody, MavHealthResponse, MavModelInfo, MavModelsResponse } from './endpoints'
export { errorBodySchema, healthResponseSchema, modelInfoSchema, modelsResponseSchema } from './endpoints'
export type {
  MavDoneData,
  MavErrorData,
  MavEventType,
  MavMetaData,
  MavPrediction,
  MavRunModel,
  MavStatusData,
  MavStepData,
  MavStepHeads,
  MavStepLens,
} from './events'
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
  stepHeadsSchema,
  stepLensSchema,
} from './events'
export type { MavForcedPrefix } from './forced'
export { forcedPrefixSchema } from './forced'
export type {
  MavDoneEvent,
  MavErrorEvent,
  MavEvent,
  MavEventIssue,
  MavMetaEvent,
  MavStatusEvent,
  MavStepEvent,
} from './mavEvent'
export { eventIssueSchema, mavEventSchema } from './mavEvent'
export type { MavToken } from './primitives'
export { tokenSchema } from './primitives'
export type { MavRecordingHeader } from './recordingHeader'
export { RECORDING_FORMAT, recordingHeaderSchema } from './recordingHeader'
export type { MavAggregation, MavDetail, MavEffectiveRequest, MavRunRequest } from './request'
export {
  aggregationSchema,
  detailSchema,
  MAX_REPETITION_PENALTY,
  MAX_TEMPERATURE,
  MAX_TOP_N,
  MIN_REPETITION_PENALTY,
  MIN_TEMPERATURE,
  runRequestSchema,
} from './request'

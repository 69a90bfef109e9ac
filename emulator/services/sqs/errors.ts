/**
 * SQS's error codes (API reference, each action's Errors and Common Errors), by the shape name the
 * AWS JSON protocol puts in `__type`. SQS is query-compatible: each error also carries its query
 * code in `x-amzn-query-error` (AWS.SimpleQueueService.NonExistentQueue for QueueDoesNotExist, ...),
 * which the SDK reads into `Code`. InvalidParameterValue, MissingParameter and InternalFailure are
 * not modelled and keep the code as `name`.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const SQS_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  // Common Errors: what a role session's request its policies do not allow answers
  AccessDeniedException: 400,
  QueueDoesNotExist: 400,
  QueueNameExists: 400,
  QueueDeletedRecently: 400,
  InvalidAttributeName: 400,
  InvalidAttributeValue: 400,
  InvalidParameterValue: 400,
  MissingParameter: 400,
  InvalidMessageContents: 400,
  ReceiptHandleIsInvalid: 404,
  MessageNotInflight: 400,
  PurgeQueueInProgress: 403,
  EmptyBatchRequest: 400,
  TooManyEntriesInBatchRequest: 400,
  BatchEntryIdsNotDistinct: 400,
  InvalidBatchEntryId: 400,
  BatchRequestTooLong: 400,
  OverLimit: 403,
  RequestThrottled: 403,
  InternalFailure: 500
} as const

export const sqsError = errorRaiser(SQS_ERRORS)

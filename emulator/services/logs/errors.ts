/**
 * CloudWatch Logs' error codes (API reference, each action's Errors). The SDK throws them under the
 * same name (ResourceNotFoundException, ...); ThrottlingException is not modelled.
 */
import { errorRaiser } from '../../types.js'
import { JSON_PROTOCOL_ERRORS } from '../../protocols/json-rpc.js'

export const LOGS_ERRORS = {
  ...JSON_PROTOCOL_ERRORS,
  InvalidParameterException: 400,
  ResourceAlreadyExistsException: 400,
  ResourceNotFoundException: 400,
  ThrottlingException: 400,
  ServiceUnavailableException: 500
} as const

export const logsError = errorRaiser(LOGS_ERRORS)

/**
 * The action's one error type and the one way to read an AWS error's code.
 * SDK v3 throws modelled errors under their shape names (`InstanceRefreshInProgressFault`,
 * `NoSuchEntityException`) and keeps the wire code in `Code` for the query services; the
 * wire code is what AWS documents, so every branch compares `errorCode(err)` with it.
 */

/** The AWS error code: the wire `Code` when the SDK kept one, else the exception's name. */
export function errorCode(err: unknown): string {
  if (!err || typeof err !== 'object') return ''
  if (err instanceof HyperformError) return err.code
  const { Code, name } = err as { Code?: unknown; name?: unknown }
  if (typeof Code === 'string' && Code) return Code
  return typeof name === 'string' ? name : ''
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}

/** Throttling codes: retried past the SDK's own attempts (Route 53 answers PriorRequestNotComplete). */
export const THROTTLING_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'PriorRequestNotComplete',
  'SlowDown',
  'EC2ThrottledException'
])

export function isThrottle(err: unknown): boolean {
  return THROTTLING_CODES.has(errorCode(err))
}

/** An error that says what was being done, with the AWS code of its cause (or its own). */
export class HyperformError extends Error {
  readonly code: string
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { cause: options.cause })
    this.code = options.code ?? errorCode(options.cause)
    this.name = 'HyperformError'
  }
}

/** `context: cause message`, keeping the cause's code. */
export function wrap(context: string, err: unknown): HyperformError {
  return new HyperformError(`${context}: ${errorMessage(err)}`, { cause: err })
}

/** An error of the action's own, branched on like an AWS one (e.g. `FailedEntries`, `NotYet`). */
export function codedError(code: string, message: string): HyperformError {
  return new HyperformError(message, { code })
}

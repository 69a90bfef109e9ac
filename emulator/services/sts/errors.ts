/** STS's error codes (API reference, Common Errors): GetCallerIdentity raises none of its own. */
import { QUERY_PROTOCOL_ERRORS } from '../../protocols/query.js'

export const STS_ERRORS = {
  ...QUERY_PROTOCOL_ERRORS,
  Throttling: 400,
  InternalFailure: 500
} as const

/** The REST-JSON protocol (Lambda): JSON bodies, errors named by the x-amzn-errortype header. */
import { randomUUID } from 'node:crypto'
import { AwsError, type EmulatorRequest, type EmulatorResponse } from '../types.js'
import { jsonObjectBody } from './json-rpc.js'

export function restJson(status: number, value: unknown, headers: Record<string, string> = {}): EmulatorResponse {
  const body = value === undefined ? '' : JSON.stringify(value)
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers },
    body
  }
}

export function restJsonError(err: AwsError, extra: Record<string, unknown> = {}): EmulatorResponse {
  return restJson(
    err.status,
    { Type: err.status >= 500 ? 'Service' : 'User', message: err.message, ...extra },
    { 'x-amzn-errortype': err.code }
  )
}

/** The request body as a JSON object ({} when empty); InvalidRequestContentException when it is not JSON. */
export function jsonBody(req: EmulatorRequest): Record<string, unknown> {
  return jsonObjectBody(req, new AwsError('InvalidRequestContentException', 'Could not parse request body into json: the body is not a JSON object'))
}

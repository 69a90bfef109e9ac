/** The REST-JSON protocol (Lambda): JSON bodies read and written by the SDK's schemas, errors named by the x-amzn-errortype header. */
import { randomUUID } from 'node:crypto'
import type { NormalizedSchema } from '@smithy/core/schema'
import { AwsError, type EmulatorResponse } from '../types.js'
import { readJson, writeJson } from './json-shapes.js'
import type { BodyCodec } from './rest.js'

const SETTINGS = { jsonName: true }

/** JSON bodies; a body that is not a JSON object is `invalid` (each service names its own code). */
export function jsonBodyCodec(invalid: () => AwsError): BodyCodec {
  return {
    contentType: 'application/json',
    read(ns: NormalizedSchema, body: Buffer, members: ReadonlySet<string>) {
      let parsed: unknown
      try {
        parsed = JSON.parse(body.toString('utf8'))
      } catch {
        throw invalid()
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid()
      return readJson(ns, parsed, SETTINGS, members)
    },
    write: (ns, value, members) => JSON.stringify(writeJson(ns, value, SETTINGS, members))
  }
}

export function restJsonError(err: AwsError, extra: Record<string, unknown> = {}): EmulatorResponse {
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), 'x-amzn-errortype': err.code },
    body: JSON.stringify({ Type: err.status >= 500 ? 'Service' : 'User', message: err.message, ...extra })
  }
}

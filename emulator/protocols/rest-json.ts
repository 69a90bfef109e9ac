/** The REST-JSON protocol (Lambda): JSON bodies read and written by the SDK's schemas, errors named by the x-amzn-errortype header. */
import { randomUUID } from 'node:crypto'
import { NormalizedSchema } from '@smithy/core/schema'
import { AwsError, type EmulatorResponse } from '../types.js'
import { readJson, writeJson, type SchemaRef } from './json-shapes.js'
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

/**
 * A REST-JSON error: the code in x-amzn-errortype, the message and `extra` members in the body,
 * except members the SDK's error shape (looked up in `schemas` as `${code}$`) binds to a header.
 */
export function restJsonError(
  err: AwsError,
  extra: Record<string, unknown> = {},
  schemas: Record<string, unknown> = {}
): EmulatorResponse {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': err.code
  }
  const body: Record<string, unknown> = { Type: err.status >= 500 ? 'Service' : 'User', message: err.message }
  const shape = schemas[`${err.code}$`]
  const members =
    Array.isArray(shape) && shape[0] === -3 ? [...NormalizedSchema.of(shape as SchemaRef).structIterator()] : []
  for (const [name, value] of Object.entries(extra)) {
    const header = members.find(([member]) => member === name)?.[1].getMergedTraits().httpHeader
    if (typeof header === 'string') headers[header.toLowerCase()] = String(value)
    else body[name] = value
  }
  return { status: err.status, headers, body: JSON.stringify(body) }
}

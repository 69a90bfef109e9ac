/**
 * The AWS JSON 1.1 protocol (EventBridge, CloudWatch Logs, SSM): X-Amz-Target names the operation;
 * requests are read and responses written from the SDK's shape schemas (json-shapes.ts).
 */
import { randomUUID } from 'node:crypto'
import { AwsError, type EmulatorRequest, type EmulatorResponse, type ErrorCodes, type ServiceModule } from '../types.js'
import { readJson, writeJson, type SchemaRef } from './json-shapes.js'
import type { OperationSchema } from './query.js'

const CONTENT_TYPE = 'application/x-amz-json-1.1'

/** What the JSON protocol itself answers with, before any handler runs. */
export const JSON_PROTOCOL_ERRORS = { UnknownOperationException: 400, SerializationException: 400 } as const

/** The operation from `X-Amz-Target: <prefix>.<Operation>`. */
export function targetOperation(req: EmulatorRequest, prefix: string): string {
  const target = req.headers['x-amz-target'] ?? ''
  if (!target.startsWith(`${prefix}.`)) {
    throw new AwsError(
      'UnknownOperationException',
      `Missing or unknown X-Amz-Target header: '${target}'`,
      JSON_PROTOCOL_ERRORS.UnknownOperationException
    )
  }
  return target.slice(prefix.length + 1)
}

/** The request body as a JSON object ({} when empty); `invalid` is thrown when it is not one. */
function jsonObjectBody(req: EmulatorRequest, invalid: AwsError): Record<string, unknown> {
  const text = req.body.toString('utf8').trim()
  if (text === '') return {}
  try {
    const parsed: unknown = JSON.parse(text)
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>
  } catch {
    // fall through
  }
  throw invalid
}

function jsonRpcBody(req: EmulatorRequest): Record<string, unknown> {
  return jsonObjectBody(
    req,
    new AwsError(
      'SerializationException',
      'The request body is not valid JSON',
      JSON_PROTOCOL_ERRORS.SerializationException
    )
  )
}

export function jsonRpcResponse(value: unknown = {}): EmulatorResponse {
  return {
    status: 200,
    headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify(value)
  }
}

export function jsonRpcError(err: AwsError): EmulatorResponse {
  return {
    status: err.status,
    headers: { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() },
    body: JSON.stringify({ __type: err.code, message: err.message })
  }
}

export interface JsonContext {
  req: EmulatorRequest
  region: string
}

/** A handler takes the SDK-shaped input and returns the SDK-shaped output (without $metadata). */
export type JsonHandler = (input: never, ctx: JsonContext) => unknown

export interface JsonServiceDefinition {
  signingName: string
  /** X-Amz-Target is `<targetPrefix>.<Operation>`. */
  targetPrefix: string
  /** The client package's exports: operation schemas are looked up as `${Operation}$`. */
  schemas: Record<string, unknown>
  handlers: Record<string, JsonHandler>
  /** The service's errors module table; it lists JSON_PROTOCOL_ERRORS too. */
  errors: ErrorCodes
  throttleCode: string
  serverErrorCode: string
  state?: () => unknown
  close?: () => Promise<void>
}

const JSON_SETTINGS = { jsonName: false }

async function handleJson(def: JsonServiceDefinition, op: string, req: EmulatorRequest): Promise<EmulatorResponse> {
  const handler = def.handlers[op]
  const schema = def.schemas[`${op}$`] as OperationSchema | undefined
  if (!handler || !Array.isArray(schema))
    throw new AwsError(
      'UnknownOperationException',
      `The emulator's ${def.signingName} does not implement ${op}`,
      def.errors.UnknownOperationException
    )
  const input = readJson(schema[4]() as SchemaRef, jsonRpcBody(req), JSON_SETTINGS)
  const output =
    (await (handler as (input: unknown, ctx: JsonContext) => unknown)(input, { req, region: req.region })) ?? {}
  return jsonRpcResponse(writeJson(schema[5]() as SchemaRef, output as Record<string, unknown>, JSON_SETTINGS))
}

/** A ServiceModule for an AWS JSON 1.1 service from its handlers: the protocol reads and writes by the SDK's schemas. */
export function createJsonModule(def: JsonServiceDefinition): ServiceModule {
  return {
    signingName: def.signingName,
    errors: def.errors,
    throttleCode: def.throttleCode,
    serverErrorCode: def.serverErrorCode,
    operation: (req) => targetOperation(req, def.targetPrefix),
    handle: (op, req) => handleJson(def, op, req),
    error: (err) => jsonRpcError(err),
    ...(def.state ? { state: def.state } : {}),
    ...(def.close ? { close: def.close } : {})
  }
}

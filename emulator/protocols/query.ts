/**
 * The AWS query protocols: `application/x-www-form-urlencoded` requests naming an Action,
 * answered with XML. Two flavours: EC2 (ec2Query) and the AWS query services (Auto Scaling, IAM, STS).
 */
import { randomUUID } from 'node:crypto'
import { NormalizedSchema } from '@smithy/core/schema'
import { AwsError } from '../types.js'
import type { EmulatorRequest, EmulatorResponse, ErrorCodes, ServiceModule } from '../types.js'
import { readQueryInput, writeOutput } from './shapes.js'
import type { QueryFlavor } from './shapes.js'
import { element, escapeXml, XML_DECLARATION } from './xml.js'

export { queryTree, readQueryInput, writeOutput } from './shapes.js'
export type { QueryFlavor, QueryNode } from './shapes.js'

type SchemaRef = Parameters<typeof NormalizedSchema.of>[0]
/** An operation schema as the SDK packages export them (`DescribeInstances$`). */
export type OperationSchema = readonly [number, string, string, unknown, () => unknown, () => unknown]

/** What the query protocol itself answers with, before any handler runs (statuses per the API references). */
export const QUERY_PROTOCOL_ERRORS = { InvalidAction: 400, MissingAction: 400 } as const
/** EC2 answers a DryRun request that would have succeeded with this code. */
export const EC2_DRY_RUN_ERRORS = { DryRunOperation: 412 } as const

function protocolError(def: QueryServiceDefinition, code: string, message: string): AwsError {
  return new AwsError(code, message, def.errors[code] ?? 400)
}

export interface QueryContext {
  req: EmulatorRequest
  region: string
  requestId: string
}

/** A handler takes the SDK-shaped input and returns the SDK-shaped output (without $metadata). */
export type QueryHandler = (input: never, ctx: QueryContext) => unknown

export interface QueryServiceDefinition {
  signingName: string
  flavor: QueryFlavor
  xmlns: string
  /** The client package's exports: operation schemas are looked up as `${Operation}$`. */
  schemas: Record<string, unknown>
  handlers: Record<string, QueryHandler>
  /** The service's errors module table; it lists the protocol's own codes too (QUERY_PROTOCOL_ERRORS). */
  errors: ErrorCodes
  throttleCode: string
  serverErrorCode: string
  state?: () => unknown
}

/** The form parameters of a query request (body, or the URL query for GET). */
export function queryParams(req: EmulatorRequest): URLSearchParams {
  const params = new URLSearchParams(req.query)
  for (const [k, v] of new URLSearchParams(req.body.toString('utf8'))) params.append(k, v)
  return params
}

function xmlResponse(status: number, body: string): EmulatorResponse {
  return { status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: XML_DECLARATION + body }
}

export function ec2ErrorXml(err: AwsError, requestId: string): string {
  const error = element('Code', escapeXml(err.code)) + element('Message', escapeXml(err.message))
  return element('Response', element('Errors', element('Error', error)) + element('RequestID', requestId))
}

export function queryErrorXml(err: AwsError, requestId: string, xmlns: string): string {
  const type = err.status >= 500 ? 'Receiver' : 'Sender'
  const error =
    element('Type', type) + element('Code', escapeXml(err.code)) + element('Message', escapeXml(err.message))
  return `<ErrorResponse xmlns="${xmlns}">${element('Error', error)}${element('RequestId', requestId)}</ErrorResponse>`
}

export function successXml(def: QueryServiceDefinition, op: string, members: string, requestId: string): string {
  const open = `<${op}Response xmlns="${def.xmlns}">`
  if (def.flavor === 'ec2') return `${open}${element('requestId', requestId)}${members}</${op}Response>`
  const result = members ? element(`${op}Result`, members) : ''
  return `${open}${result}${element('ResponseMetadata', element('RequestId', requestId))}</${op}Response>`
}

function operationSchema(def: QueryServiceDefinition, op: string): OperationSchema {
  const schema = def.schemas[`${op}$`]
  if (!Array.isArray(schema))
    throw protocolError(def, 'InvalidAction', `The action ${op} is not valid for this web service.`)
  return schema as unknown as OperationSchema
}

async function handleQuery(def: QueryServiceDefinition, op: string, req: EmulatorRequest): Promise<EmulatorResponse> {
  const handler = def.handlers[op]
  if (!handler) throw protocolError(def, 'InvalidAction', `The action ${op} is not valid for this web service.`)
  const schema = operationSchema(def, op)
  const params = queryParams(req)
  const input = readQueryInput(schema[4]() as SchemaRef, params, def.flavor)
  if (def.flavor === 'ec2' && params.get('DryRun') === 'true') {
    throw protocolError(def, 'DryRunOperation', 'Request would have succeeded, but DryRun flag is set.')
  }
  const requestId = randomUUID()
  const ctx: QueryContext = { req, region: req.region, requestId }
  const output = (await (handler as (input: unknown, ctx: QueryContext) => unknown)(input, ctx)) ?? {}
  const members = writeOutput(schema[5]() as SchemaRef, output as Record<string, unknown>)
  return xmlResponse(200, successXml(def, op, members, requestId))
}

/** A ServiceModule for a query-protocol service from its handlers. */
export function createQueryModule(def: QueryServiceDefinition): ServiceModule {
  return {
    signingName: def.signingName,
    errors: def.errors,
    throttleCode: def.throttleCode,
    serverErrorCode: def.serverErrorCode,
    operation(req) {
      const action = queryParams(req).get('Action')
      if (!action) throw protocolError(def, 'MissingAction', 'The request must contain the parameter Action.')
      return action
    },
    handle: (op, req) => handleQuery(def, op, req),
    error(err) {
      const requestId = randomUUID()
      const body = def.flavor === 'ec2' ? ec2ErrorXml(err, requestId) : queryErrorXml(err, requestId, def.xmlns)
      return xmlResponse(err.status, body)
    },
    ...(def.state ? { state: def.state } : {})
  }
}

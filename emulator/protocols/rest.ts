/**
 * The REST protocols (Route 53 REST-XML, Lambda REST-JSON) driven by the SDK's schemas: each
 * operation's `http` trait routes the request (method, URI template, success status), and the
 * input and output members' HTTP bindings (httpLabel, httpQuery, httpHeader, httpPayload,
 * httpResponseCode) say where each member travels; the rest goes through the body codec.
 */
import { randomUUID } from 'node:crypto'
import { NormalizedSchema } from '@smithy/core/schema'
import { AwsError } from '../types.js'
import type { EmulatorRequest, EmulatorResponse, ErrorCodes, ServiceModule } from '../types.js'
import type { SchemaRef } from './json-shapes.js'
import type { OperationSchema } from './query.js'

/** Reads and writes the body members of a structure (JSON or XML). */
export interface BodyCodec {
  contentType: string
  /** The SDK-shaped members of `ns` found in the body, limited to `members`. */
  read(ns: NormalizedSchema, body: Buffer, members: ReadonlySet<string>): Record<string, unknown>
  /** The body for the `members` of `value`, as the structure `ns`. */
  write(ns: NormalizedSchema, value: Record<string, unknown>, members: ReadonlySet<string>): string
}

export interface RestContext {
  req: EmulatorRequest
  region: string
}

/** A handler takes the SDK-shaped input and returns the SDK-shaped output (without $metadata). */
export type RestHandler = (input: never, ctx: RestContext) => unknown

export interface RestServiceDefinition {
  signingName: string
  /** The client package's exports: operation schemas are looked up as `${Operation}$`. */
  schemas: Record<string, unknown>
  handlers: Record<string, RestHandler>
  codec: BodyCodec
  errors: ErrorCodes
  throttleCode: string
  serverErrorCode: string
  /** The error as the protocol puts it on the wire. */
  error: (err: AwsError) => EmulatorResponse
  state?: () => unknown
  close?: () => Promise<void>
}

interface RestOperation {
  name: string
  method: string
  /** URI path segments; `{Label}` and `{Label+}` (greedy) stand for members. */
  segments: string[]
  /** Literal query parameters the URI template carries (`?x-id=...`). */
  literalQuery: [string, string][]
  code: number
  input: NormalizedSchema
  output: NormalizedSchema
}

function restOperation(name: string, schema: OperationSchema): RestOperation {
  const http = (schema[3] as { http?: [string, string, number] }).http
  if (!http) throw new Error(`${name} has no http trait`)
  const [method, uri, code] = http
  const [path = '', query = ''] = uri.split('?')
  return {
    name,
    method,
    segments: path.split('/'),
    literalQuery: [...new URLSearchParams(query)],
    code,
    input: NormalizedSchema.of(schema[4]() as SchemaRef),
    output: NormalizedSchema.of(schema[5]() as SchemaRef)
  }
}

function matchPath(op: RestOperation, path: string): Record<string, string> | undefined {
  const got = path.replace(/\/+$/, '').split('/')
  const labels: Record<string, string> = {}
  for (let i = 0; i < op.segments.length; i++) {
    const want = op.segments[i] ?? ''
    const m = /^\{(\w+)(\+?)\}$/.exec(want)
    if (m?.[2] === '+') {
      labels[m[1] ?? ''] = got.slice(i).join('/')
      return got.length > i ? labels : undefined
    }
    const segment = got[i]
    if (segment === undefined) return undefined
    if (m) {
      if (segment === '') return undefined
      labels[m[1] ?? ''] = segment
    } else if (want !== segment) return undefined
  }
  return got.length === op.segments.length ? labels : undefined
}

function scalarFromString(ns: NormalizedSchema, text: string): unknown {
  if (ns.isBooleanSchema()) return text === 'true'
  if (ns.isNumericSchema()) return Number(text)
  if (ns.isTimestampSchema()) return new Date(/^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : text)
  if (ns.isBlobSchema()) return new Uint8Array(Buffer.from(text, 'base64'))
  return text
}

function scalarToString(value: unknown): string {
  if (value instanceof Date) return value.toUTCString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return String(value)
}

function readInput(
  op: RestOperation,
  labels: Record<string, string>,
  req: EmulatorRequest,
  codec: BodyCodec
): Record<string, unknown> {
  const input: Record<string, unknown> = {}
  const bodyMembers = new Set<string>()
  for (const [name, member] of op.input.structIterator()) {
    const t = member.getMergedTraits()
    if (t.httpLabel) {
      if (labels[name] !== undefined) input[name] = scalarFromString(member, labels[name])
    } else if (typeof t.httpQuery === 'string') {
      const values = req.query.getAll(t.httpQuery)
      if (values.length === 0) continue
      input[name] = member.isListSchema()
        ? values.map((v) => scalarFromString(member.getValueSchema(), v))
        : scalarFromString(member, values[0] ?? '')
    } else if (typeof t.httpHeader === 'string') {
      const value = req.headers[t.httpHeader.toLowerCase()]
      if (value !== undefined)
        input[name] = member.isListSchema() ? value.split(',').map((v) => v.trim()) : scalarFromString(member, value)
    } else if (t.httpPayload) {
      if (req.body.length === 0) continue
      if (member.isBlobSchema()) input[name] = new Uint8Array(req.body)
      else if (member.isStringSchema()) input[name] = req.body.toString('utf8')
      else input[name] = codec.read(member, req.body, new Set([...member.structIterator()].map(([n]) => n)))
    } else if (!t.httpQueryParams && !t.httpPrefixHeaders) bodyMembers.add(name)
  }
  if (bodyMembers.size > 0 && req.body.length > 0) Object.assign(input, codec.read(op.input, req.body, bodyMembers))
  return input
}

function writeOutput(op: RestOperation, output: Record<string, unknown>, codec: BodyCodec): EmulatorResponse {
  let status = op.code
  const headers: Record<string, string> = { 'x-amzn-requestid': randomUUID() }
  const bodyMembers = new Set<string>()
  let body: string | Buffer | undefined
  for (const [name, member] of op.output.isStructSchema() ? op.output.structIterator() : []) {
    const value = output[name]
    const t = member.getMergedTraits()
    if (t.httpResponseCode) {
      if (typeof value === 'number') status = value
    } else if (typeof t.httpHeader === 'string') {
      if (value !== undefined && value !== null)
        headers[t.httpHeader.toLowerCase()] = Array.isArray(value)
          ? value.map(scalarToString).join(', ')
          : scalarToString(value)
    } else if (t.httpPayload) {
      if (value === undefined || value === null) continue
      if (value instanceof Uint8Array) body = Buffer.from(value)
      else if (typeof value === 'string') body = value
      else {
        body = codec.write(
          member,
          value as Record<string, unknown>,
          new Set([...member.structIterator()].map(([n]) => n))
        )
        headers['content-type'] = codec.contentType
      }
    } else if (!t.httpPrefixHeaders) bodyMembers.add(name)
  }
  if (body === undefined && bodyMembers.size > 0) {
    body = codec.write(op.output, output, bodyMembers)
    headers['content-type'] = codec.contentType
  }
  return { status, headers, ...(body === undefined ? {} : { body }) }
}

/** A ServiceModule for a REST service from its handlers: routing, input and output all come from the SDK's schemas. */
export function createRestModule(def: RestServiceDefinition): ServiceModule {
  const operations = Object.keys(def.handlers).map((name) => {
    const schema = def.schemas[`${name}$`]
    if (!Array.isArray(schema)) throw new Error(`${def.signingName}: the SDK has no operation ${name}`)
    return restOperation(name, schema as unknown as OperationSchema)
  })
  const route = (req: EmulatorRequest): { op: RestOperation; labels: Record<string, string> } => {
    for (const op of operations) {
      if (op.method !== req.method) continue
      if (!op.literalQuery.every(([k, v]) => req.query.get(k) === v)) continue
      const labels = matchPath(op, req.path)
      if (labels) return { op, labels }
    }
    throw new AwsError(
      'UnknownOperationException',
      `The emulator's ${def.signingName} does not implement ${req.method} ${req.path}`,
      def.errors.UnknownOperationException
    )
  }
  return {
    signingName: def.signingName,
    errors: def.errors,
    throttleCode: def.throttleCode,
    serverErrorCode: def.serverErrorCode,
    operation: (req) => route(req).op.name,
    async handle(_operation, req) {
      const { op, labels } = route(req)
      const handler = def.handlers[op.name] as (input: unknown, ctx: RestContext) => unknown
      const input = readInput(op, labels, req, def.codec)
      const output = (await handler(input, { req, region: req.region })) ?? {}
      return writeOutput(op, output as Record<string, unknown>, def.codec)
    },
    error: (err) => def.error(err),
    ...(def.state ? { state: def.state } : {}),
    ...(def.close ? { close: def.close } : {})
  }
}

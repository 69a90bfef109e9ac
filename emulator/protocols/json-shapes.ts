/**
 * Reads JSON request bodies and writes JSON response bodies driven by the SDK's shape schemas
 * (AWS JSON 1.1 and REST-JSON): member names (jsonName for REST-JSON), timestamps (epoch seconds
 * unless timestampFormat says otherwise), blobs (base64), and only the members the model has.
 */
import { NormalizedSchema } from '@smithy/core/schema'

export type SchemaRef = Parameters<typeof NormalizedSchema.of>[0]

export interface JsonSettings {
  /** REST-JSON honours the jsonName trait; AWS JSON 1.x uses member names as they are. */
  jsonName: boolean
}

function memberKey(name: string, member: NormalizedSchema, settings: JsonSettings): string {
  const jsonName = member.getMergedTraits().jsonName
  return settings.jsonName && typeof jsonName === 'string' ? jsonName : name
}

function readTimestamp(value: unknown): Date | undefined {
  if (typeof value === 'number') return new Date(value * 1000)
  if (typeof value === 'string') return new Date(/^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : value)
  return undefined
}

function readValue(ns: NormalizedSchema, value: unknown, settings: JsonSettings): unknown {
  if (value === null || value === undefined) return undefined
  if (ns.isListSchema())
    return Array.isArray(value) ? value.map((v) => readValue(ns.getValueSchema(), v, settings)) : undefined
  if (ns.isMapSchema()) {
    if (typeof value !== 'object' || Array.isArray(value)) return undefined
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = readValue(ns.getValueSchema(), v, settings)
    return out
  }
  if (ns.isStructSchema())
    return typeof value === 'object' && !Array.isArray(value)
      ? readStruct(ns, value as Record<string, unknown>, settings)
      : undefined
  if (ns.isTimestampSchema()) return readTimestamp(value)
  if (ns.isBlobSchema()) return typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : undefined
  return value
}

function readStruct(
  ns: NormalizedSchema,
  value: Record<string, unknown>,
  settings: JsonSettings
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, member] of ns.structIterator()) {
    const v = readValue(member, value[memberKey(name, member, settings)], settings)
    if (v !== undefined) out[name] = v
  }
  return out
}

/** The SDK-shaped object for a parsed JSON body; members outside `only` (when given) are skipped. */
export function readJson(
  schema: SchemaRef | NormalizedSchema,
  value: unknown,
  settings: JsonSettings,
  only?: ReadonlySet<string>
): Record<string, unknown> {
  const ns = schema instanceof NormalizedSchema ? schema : NormalizedSchema.of(schema)
  if (!ns.isStructSchema() || typeof value !== 'object' || value === null || Array.isArray(value)) return {}
  const out = readStruct(ns, value as Record<string, unknown>, settings)
  if (only) for (const k of Object.keys(out)) if (!only.has(k)) delete out[k]
  return out
}

function writeTimestamp(ns: NormalizedSchema, value: unknown): unknown {
  const date =
    value instanceof Date ? value : typeof value === 'number' ? new Date(value * 1000) : new Date(String(value))
  // the schema's timestamp sentinel carries timestampFormat: 5 date-time, 6 http-date, 7 (and 4, the JSON default) epoch-seconds
  const format = ns.getSchema()
  if (format === 5) return date.toISOString()
  if (format === 6) return date.toUTCString()
  return date.getTime() / 1000
}

function writeValue(ns: NormalizedSchema, value: unknown, settings: JsonSettings): unknown {
  if (value === null || value === undefined) return undefined
  if (ns.isListSchema())
    return Array.isArray(value) ? value.map((v) => writeValue(ns.getValueSchema(), v, settings)) : undefined
  if (ns.isMapSchema()) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      out[k] = writeValue(ns.getValueSchema(), v, settings)
    return out
  }
  if (ns.isStructSchema()) return writeStruct(ns, value as Record<string, unknown>, settings)
  if (ns.isTimestampSchema()) return writeTimestamp(ns, value)
  if (ns.isBlobSchema()) return Buffer.from(value instanceof Uint8Array ? value : String(value)).toString('base64')
  return value
}

function writeStruct(
  ns: NormalizedSchema,
  value: Record<string, unknown>,
  settings: JsonSettings,
  only?: ReadonlySet<string>
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, member] of ns.structIterator()) {
    if (only && !only.has(name)) continue
    const v = writeValue(member, value[name], settings)
    if (v !== undefined) out[memberKey(name, member, settings)] = v
  }
  return out
}

/** The JSON body for an SDK-shaped object: only modelled members (or those in `only`), wire-formatted. */
export function writeJson(
  schema: SchemaRef | NormalizedSchema,
  value: Record<string, unknown>,
  settings: JsonSettings,
  only?: ReadonlySet<string>
): Record<string, unknown> {
  const ns = schema instanceof NormalizedSchema ? schema : NormalizedSchema.of(schema)
  return ns.isStructSchema() ? writeStruct(ns, value, settings, only) : {}
}

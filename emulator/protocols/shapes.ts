/**
 * Reads query-protocol input and writes XML output driven by the SDK's own shape schemas
 * (the @aws-sdk/client-* packages export them), so member names, list member names,
 * flattening and ec2QueryName all come from the same source the SDK uses.
 */
import { NormalizedSchema } from '@smithy/core/schema'
import { element, escapeXml } from './xml.js'

type SchemaRef = Parameters<typeof NormalizedSchema.of>[0]

/** A flattened query string as a tree: `Filter.1.Value.1=x` -> {Filter: {1: {Value: {1: 'x'}}}}. */
export type QueryNode = string | { [key: string]: QueryNode }

export type QueryFlavor = 'ec2' | 'query'

export function queryTree(params: URLSearchParams): { [key: string]: QueryNode } {
  const root: { [key: string]: QueryNode } = {}
  for (const [key, value] of params) {
    const parts = key.split('.')
    let node = root
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        if (typeof node[part] !== 'object') node[part] = value
        return
      }
      const next = node[part]
      if (typeof next === 'object') node = next
      else node = node[part] = {}
    })
  }
  return root
}

function queryKey(flavor: QueryFlavor, memberName: string, ns: NormalizedSchema): string {
  const traits = ns.getMergedTraits()
  if (flavor === 'ec2') {
    if (typeof traits.ec2QueryName === 'string') return traits.ec2QueryName
    const key = typeof traits.xmlName === 'string' ? traits.xmlName : memberName
    return key.charAt(0).toUpperCase() + key.slice(1)
  }
  return typeof traits.xmlName === 'string' ? traits.xmlName : memberName
}

function numbered(node: QueryNode | undefined): QueryNode[] {
  if (node === undefined || typeof node === 'string') return []
  return Object.keys(node)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => node[k] as QueryNode)
}

function child(node: QueryNode | undefined, key: string): QueryNode | undefined {
  return node !== undefined && typeof node === 'object' ? node[key] : undefined
}

function readScalar(ns: NormalizedSchema, text: string): unknown {
  if (ns.isBooleanSchema()) return text === 'true'
  if (ns.isNumericSchema()) return Number(text)
  if (ns.isTimestampSchema()) return new Date(/^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : text)
  if (ns.isBlobSchema()) return new Uint8Array(Buffer.from(text, 'base64'))
  return text
}

function readList(ns: NormalizedSchema, node: QueryNode, flavor: QueryFlavor): unknown[] {
  const member = ns.getValueSchema()
  const flat = flavor === 'ec2' || Boolean(ns.getMergedTraits().xmlFlattened)
  const memberTraits = member.getMergedTraits()
  const wrapper = typeof memberTraits.xmlName === 'string' ? memberTraits.xmlName : 'member'
  const items = flat ? numbered(node) : numbered(child(node, wrapper))
  return items.map((item) => readNode(member, item, flavor))
}

function readMap(ns: NormalizedSchema, node: QueryNode, flavor: QueryFlavor): Record<string, unknown> {
  const flat = Boolean(ns.getMergedTraits().xmlFlattened)
  const keyName = queryKey('query', 'key', ns.getKeySchema())
  const valueName = queryKey('query', 'value', ns.getValueSchema())
  const out: Record<string, unknown> = {}
  for (const entry of numbered(flat ? node : child(node, 'entry'))) {
    const key = child(entry, keyName)
    if (typeof key === 'string') out[key] = readNode(ns.getValueSchema(), child(entry, valueName) ?? '', flavor)
  }
  return out
}

function readStruct(ns: NormalizedSchema, node: QueryNode, flavor: QueryFlavor): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, member] of ns.structIterator()) {
    const value = child(node, queryKey(flavor, name, member))
    if (value !== undefined) out[name] = readNode(member, value, flavor)
  }
  return out
}

function readNode(ns: NormalizedSchema, node: QueryNode, flavor: QueryFlavor): unknown {
  if (ns.isListSchema()) return readList(ns, node, flavor)
  if (ns.isMapSchema()) return readMap(ns, node, flavor)
  if (ns.isStructSchema()) return readStruct(ns, node, flavor)
  return typeof node === 'string' ? readScalar(ns, node) : undefined
}

/** The SDK-shaped input object for a query request. */
export function readQueryInput(
  schema: SchemaRef,
  params: URLSearchParams,
  flavor: QueryFlavor
): Record<string, unknown> {
  const ns = NormalizedSchema.of(schema)
  if (!ns.isStructSchema()) return {}
  return readStruct(ns, queryTree(params), flavor)
}

function writeScalar(ns: NormalizedSchema, value: unknown): string {
  if (value instanceof Date) return value.toISOString()
  if (ns.isTimestampSchema() && typeof value === 'number') return new Date(value).toISOString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return escapeXml(String(value))
}

function writeList(ns: NormalizedSchema, value: unknown[], name: string): string {
  const member = ns.getValueSchema()
  if (ns.getMergedTraits().xmlFlattened) return value.map((v) => writeNode(member, v, name)).join('')
  const traits = member.getMergedTraits()
  const memberName = typeof traits.xmlName === 'string' ? traits.xmlName : 'member'
  return element(name, value.map((v) => writeNode(member, v, memberName)).join(''))
}

function writeMap(ns: NormalizedSchema, value: Record<string, unknown>, name: string): string {
  const keyName = queryKey('query', 'key', ns.getKeySchema())
  const valueName = queryKey('query', 'value', ns.getValueSchema())
  const entries = Object.entries(value).map(
    ([k, v]) => element(keyName, escapeXml(k)) + writeNode(ns.getValueSchema(), v, valueName)
  )
  if (ns.getMergedTraits().xmlFlattened) return entries.map((e) => element(name, e)).join('')
  return element(name, entries.map((e) => element('entry', e)).join(''))
}

/** The members of a structure value as XML elements (no wrapping element). */
export function writeMembers(ns: NormalizedSchema, value: Record<string, unknown>, only?: ReadonlySet<string>): string {
  let out = ''
  for (const [name, member] of ns.structIterator()) {
    if (only && !only.has(name)) continue
    const v = value[name]
    if (v === undefined || v === null) continue
    const xmlName = member.getMemberTraits().xmlName
    out += writeNode(member, v, typeof xmlName === 'string' ? xmlName : name)
  }
  return out
}

function writeNode(ns: NormalizedSchema, value: unknown, name: string): string {
  if (ns.isListSchema() && Array.isArray(value)) return writeList(ns, value, name)
  if (ns.isMapSchema() && typeof value === 'object') return writeMap(ns, value as Record<string, unknown>, name)
  if (ns.isStructSchema() && typeof value === 'object') {
    return element(name, writeMembers(ns, value as Record<string, unknown>))
  }
  return element(name, writeScalar(ns, value))
}

/** The output object's members as XML, driven by the output shape. */
export function writeOutput(schema: SchemaRef, value: Record<string, unknown>): string {
  const ns = NormalizedSchema.of(schema)
  return ns.isStructSchema() ? writeMembers(ns, value) : ''
}

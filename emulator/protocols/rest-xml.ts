/**
 * The REST-XML protocol (Route 53): request bodies read and response bodies written by the SDK's
 * schemas (member and list-member xmlName, flattening), errors as the SDK's restXml deserializer reads them.
 */
import { randomUUID } from 'node:crypto'
import type { NormalizedSchema } from '@smithy/core/schema'
import type { AwsError, EmulatorResponse } from '../types.js'
import type { BodyCodec } from './rest.js'
import { writeMembers } from './shapes.js'
import { child, childrenNamed, el, leaf, list, parseXml, xmlDocument, type XmlElement } from './xml-lite.js'

function xmlName(ns: NormalizedSchema, fallback: string): string {
  const name = ns.getMergedTraits().xmlName
  return typeof name === 'string' ? name : fallback
}

function readScalar(ns: NormalizedSchema, text: string): unknown {
  if (ns.isBooleanSchema()) return text === 'true'
  if (ns.isNumericSchema()) return Number(text)
  if (ns.isTimestampSchema()) return new Date(/^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : text)
  if (ns.isBlobSchema()) return new Uint8Array(Buffer.from(text, 'base64'))
  return text
}

function readList(ns: NormalizedSchema, items: XmlElement[]): unknown[] {
  return items.map((item) => readValue(ns.getValueSchema(), item))
}

function readValue(ns: NormalizedSchema, node: XmlElement): unknown {
  if (ns.isListSchema()) return readList(ns, childrenNamed(node, xmlName(ns.getValueSchema(), 'member')))
  if (ns.isMapSchema()) {
    const keyName = xmlName(ns.getKeySchema(), 'key')
    const valueName = xmlName(ns.getValueSchema(), 'value')
    const out: Record<string, unknown> = {}
    for (const entry of childrenNamed(node, 'entry')) {
      const key = child(entry, keyName)?.text.trim()
      const value = child(entry, valueName)
      if (key !== undefined && value) out[key] = readValue(ns.getValueSchema(), value)
    }
    return out
  }
  if (ns.isStructSchema()) return readStruct(ns, node)
  return readScalar(ns, node.text.trim())
}

function readStruct(ns: NormalizedSchema, node: XmlElement, only?: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, member] of ns.structIterator()) {
    if (only && !only.has(name)) continue
    const key = xmlName(member, name)
    if (member.isListSchema() && member.getMergedTraits().xmlFlattened) {
      const items = childrenNamed(node, key)
      if (items.length > 0) out[name] = items.map((item) => readValue(member.getValueSchema(), item))
      continue
    }
    const found = child(node, key)
    if (found) out[name] = readValue(member, found)
  }
  return out
}

/** XML bodies in `namespace`; a body that does not parse is `invalid` (each service names its own code). */
export function xmlBodyCodec(namespace: string, invalid: () => AwsError): BodyCodec {
  return {
    contentType: 'text/xml',
    read(ns, body, members) {
      let root: XmlElement
      try {
        root = parseXml(body.toString('utf8'))
      } catch {
        throw invalid()
      }
      return readStruct(ns, root, members)
    },
    write(ns, value, members) {
      const root = xmlName(ns, ns.getName() ?? 'Response')
      return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${namespace}">${writeMembers(ns, value, members)}</${root}>`
    }
  }
}

/** <ErrorResponse><Error><Type/><Code/><Message/>[<Messages>]</Error><RequestId/></ErrorResponse> */
export function xmlError(err: AwsError, namespace: string, messages?: string[]): EmulatorResponse {
  const requestId = randomUUID()
  const error = el(
    'Error',
    leaf('Type', err.status >= 500 ? 'Receiver' : 'Sender'),
    leaf('Code', err.code),
    leaf('Message', err.message),
    // AWS names the element Messages; the SDK model reads the member as `messages`
    messages ? list('Messages', messages, (m) => leaf('Message', m)) : undefined,
    messages ? list('messages', messages, (m) => leaf('Message', m)) : undefined
  )
  return {
    status: err.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: xmlDocument('ErrorResponse', namespace, error, leaf('RequestId', requestId))
  }
}

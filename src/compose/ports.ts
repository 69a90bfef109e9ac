/**
 * Port syntax. Short: `"80"`, `"8000:80"`, `"127.0.0.1:8000:80"`,
 * `"[::1]:8000:80"`, `"127.0.0.1::80"`, `"8000-8010:80-90"`, `"80/udp"`,
 * `9000-9002`, numbers. Long: `target`, `published`, `protocol`, `host_ip`,
 * `mode`. Each parses to mappings with one port each (ranges expanded);
 * a port without a host port is published on the same number. Pure.
 */
import { isIP } from 'node:net'
import type { ExposedPort, PortMapping, Protocol } from './model.js'
import { describe, isMap, type MapNode, type Node, quote, valueOf } from './tree.js'

export const MIN_PORT = 1
export const MAX_PORT = 65535
export const PORT_LONG_KEYS = ['target', 'published', 'protocol', 'host_ip', 'mode', 'name', 'app_protocol']

/** A problem with a part of the value: at the value itself, or at one key of the long form. */
export interface PortProblem {
  key?: string
  /** The problem is the key itself (an unknown key), not its value. */
  onKey?: boolean
  message: string
}

export type PortsResult = { mappings: PortMapping[] } | { problem: PortProblem }

interface Range {
  start: number
  end: number
}

type RangeResult = Range | { problem: string }

/** Parses `"80"` or `"8000-8010"`. */
export function parseRange(text: string): RangeResult {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text)
  if (!match) return { problem: `${quote(text)} is not a port number or range such as 80 or 8000-8010` }
  const start = Number(match[1])
  const end = match[2] === undefined ? start : Number(match[2])
  for (const port of [start, end]) {
    if (port < MIN_PORT || port > MAX_PORT) return { problem: `port ${port} is out of range ${MIN_PORT}-${MAX_PORT}` }
  }
  if (end < start) return { problem: `range ${quote(text)} ends before it starts` }
  return { start, end }
}

function rangeLength(r: Range): number {
  return r.end - r.start + 1
}

function splitProtocol(text: string): { rest: string; protocol: Protocol } | { problem: string } {
  const slash = text.lastIndexOf('/')
  if (slash < 0) return { rest: text, protocol: 'tcp' }
  const protocol = text.slice(slash + 1)
  if (protocol !== 'tcp' && protocol !== 'udp')
    return { problem: `protocol ${quote(protocol)} is not supported; use tcp or udp` }
  return { rest: text.slice(0, slash), protocol }
}

/** `[ip:][published:]target`, the IP possibly an IPv6 address in brackets. */
function splitHost(text: string): { hostIp?: string; published?: string; target: string } | { problem: string } {
  const bracket = /^\[([^\]]*)\]:(.*)$/.exec(text)
  const [ip, rest] = bracket ? [bracket[1]!, bracket[2]!] : [undefined, text]
  const parts = rest.split(':')
  if (bracket && parts.length !== 2) return { problem: `${quote(text)} must be [ip]:published:target` }
  if (parts.length > 3) return { problem: `${quote(text)} has too many ":"; expected [ip:][published:]target` }
  const target = parts[parts.length - 1]!
  const published = parts.length >= 2 ? parts[parts.length - 2] : undefined
  const hostIp = ip ?? (parts.length === 3 ? parts[0] : undefined)
  return { ...(hostIp !== undefined ? { hostIp } : {}), ...(published ? { published } : {}), target }
}

/** Parses the short syntax. */
export function parseShortPort(text: string): PortsResult {
  const proto = splitProtocol(text.trim())
  if ('problem' in proto) return { problem: { message: proto.problem } }
  const host = splitHost(proto.rest)
  if ('problem' in host) return { problem: { message: host.problem } }
  if (host.hostIp !== undefined && !isIP(host.hostIp))
    return { problem: { message: `host IP ${quote(host.hostIp)} is not an IP address` } }
  const mappings = expand({
    target: host.target,
    published: host.published,
    protocol: proto.protocol,
    hostIp: host.hostIp
  })
  return 'problem' in mappings ? { problem: { message: mappings.problem } } : mappings
}

interface PortSpec {
  target: string
  published?: string
  protocol: Protocol
  hostIp?: string
}

function expand(spec: PortSpec): { mappings: PortMapping[] } | { problem: string } {
  const target = parseRange(spec.target)
  if ('problem' in target) return target
  const published = spec.published === undefined ? target : parseRange(spec.published)
  if ('problem' in published) return published
  if (rangeLength(published) !== rangeLength(target)) {
    return {
      problem: `published ${rangeText(published)} and target ${rangeText(target)} must have the same number of ports`
    }
  }
  const mappings: PortMapping[] = []
  for (let i = 0; i < rangeLength(target); i++) {
    const mapping: PortMapping = { target: target.start + i, published: published.start + i, protocol: spec.protocol }
    if (spec.hostIp !== undefined) mapping.hostIp = spec.hostIp
    mappings.push(mapping)
  }
  return { mappings }
}

function rangeText(r: Range): string {
  const count = rangeLength(r)
  return r.start === r.end ? `${r.start} (1 port)` : `${r.start}-${r.end} (${count} ports)`
}

/** One `ports` item, short or long form. */
export function parsePort(node: Node): PortsResult {
  if (node.kind === 'map') return parseLongPort(node)
  if (node.kind === 'scalar' && typeof node.value === 'number') return parseShortPort(integerText(node.value))
  if (node.kind === 'scalar' && typeof node.value === 'string') return parseShortPort(node.value)
  return {
    problem: { message: `must be a port string such as "8000:80", a port number or a mapping, got ${describe(node)}` }
  }
}

function integerText(value: number): string {
  return Number.isInteger(value) ? String(value) : `${value}`
}

function parseLongPort(node: MapNode): PortsResult {
  const unknown = node.entries.find((e) => !PORT_LONG_KEYS.includes(e.key))
  if (unknown)
    return {
      problem: {
        key: unknown.key,
        onKey: true,
        message: `is not a port key; expected one of ${PORT_LONG_KEYS.join(', ')}`
      }
    }
  const target = portField(valueOf(node, 'target'), { key: 'target', required: true })
  if ('problem' in target) return { problem: target.problem }
  const published = portField(valueOf(node, 'published'), { key: 'published', required: false })
  if ('problem' in published) return { problem: published.problem }
  const protocol = longProtocol(valueOf(node, 'protocol'))
  if ('problem' in protocol) return { problem: protocol.problem }
  const hostIp = longHostIp(valueOf(node, 'host_ip'))
  if ('problem' in hostIp) return { problem: hostIp.problem }
  const mode = longMode(valueOf(node, 'mode'))
  if (mode) return { problem: mode }
  const spec = { target: target.text!, published: published.text, protocol: protocol.protocol, hostIp: hostIp.hostIp }
  const result = expand(spec)
  return 'problem' in result
    ? { problem: { key: published.text ? 'published' : 'target', message: result.problem } }
    : result
}

function portField(
  node: Node | undefined,
  field: { key: string; required: boolean }
): { text?: string } | { problem: PortProblem } {
  if (node === undefined || (node.kind === 'scalar' && node.value === null)) {
    return field.required ? { problem: { key: field.key, message: 'is required' } } : {}
  }
  if (node.kind === 'scalar' && (typeof node.value === 'number' || typeof node.value === 'string')) {
    const text = String(node.value)
    const range = parseRange(text)
    return 'problem' in range ? { problem: { key: field.key, message: range.problem } } : { text }
  }
  return {
    problem: { key: field.key, message: `must be a port number or a string such as "8000-8010", got ${describe(node)}` }
  }
}

function longProtocol(node: Node | undefined): { protocol: Protocol } | { problem: PortProblem } {
  if (node === undefined) return { protocol: 'tcp' }
  if (node.kind === 'scalar' && (node.value === 'tcp' || node.value === 'udp')) return { protocol: node.value }
  return { problem: { key: 'protocol', message: `must be "tcp" or "udp", got ${describe(node)}` } }
}

function longHostIp(node: Node | undefined): { hostIp?: string } | { problem: PortProblem } {
  if (node === undefined) return {}
  if (node.kind === 'scalar' && typeof node.value === 'string' && isIP(node.value)) return { hostIp: node.value }
  return { problem: { key: 'host_ip', message: `must be an IP address, got ${describe(node)}` } }
}

function longMode(node: Node | undefined): PortProblem | undefined {
  if (node === undefined) return undefined
  if (node.kind === 'scalar' && (node.value === 'host' || node.value === 'ingress')) return undefined
  return { key: 'mode', message: `must be "host" or "ingress", got ${describe(node)}` }
}

/** One `expose` item: `3000`, `"3000"`, `"3000/udp"`, `"8000-8010"`. */
export function parseExpose(node: Node): { ports: ExposedPort[] } | { problem: string } {
  if (isMap(node) || node.kind === 'seq' || node.value === null || typeof node.value === 'boolean') {
    return { problem: `must be a port number or a string such as "3000/udp", got ${describe(node)}` }
  }
  const proto = splitProtocol(String(node.value).trim())
  if ('problem' in proto) return proto
  const range = parseRange(proto.rest)
  if ('problem' in range) return range
  const ports: ExposedPort[] = []
  for (let port = range.start; port <= range.end; port++) ports.push({ port, protocol: proto.protocol })
  return { ports }
}

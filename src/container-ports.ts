/**
 * The ports of a service's container: what `docker run -p` publishes on its
 * instance and what its security group opens. Pure.
 *
 * On a compose network other services reach a service at its container
 * ports: `web:80` for `ports: ["8000:80"]`, and every `expose` port. Here the
 * network is the VPC and each container has its instance to itself, so those
 * container ports are also published on the instance on the same number and
 * opened to the VPC CIDR. A host port that a `ports` mapping already uses is
 * left to it, and so are the ports of the instance's own services: the
 * container port is then not reachable that way, which compose validation
 * reports as a warning with its file and line (`conflicts`).
 */
import type { Protocol, PortMapping, ServiceModel } from './compose/model.js'
import type { IngressRule } from './state.js'

export const ANYWHERE = '0.0.0.0/0'

/** Why a port is published: a `ports` mapping, the target of one, or an `expose` entry. */
export type PortSource = 'ports' | 'target' | 'expose'

export interface HostPort extends PortMapping {
  source: PortSource
}

/** A container port that could not be published host = container. */
export interface HostPortConflict {
  source: 'target' | 'expose'
  /** Index in `ports` (for a target) or in `expose` (for an exposed port). */
  index: number
  port: number
  protocol: Protocol
  /** Index in `ports` of the mapping that holds the host port, or the instance service that listens on it. */
  heldBy: number | { instance: string }
}

/**
 * Host ports the instance's own services listen on (Amazon Linux 2023: sshd,
 * and systemd-resolved's stub resolver on 127.0.0.53). Publishing a container
 * port there would make `docker run` fail, so only an explicit mapping may.
 */
export const INSTANCE_PORTS: ReadonlyMap<string, string> = new Map([
  ['tcp/22', 'SSH server'],
  ['tcp/53', 'DNS resolver'],
  ['udp/53', 'DNS resolver']
])

export interface ContainerPorts {
  /** The `ports` mappings in order, then the container ports added host = container. */
  published: HostPort[]
  conflicts: HostPortConflict[]
}

type Ports = Pick<ServiceModel, 'ports' | 'expose'>

/** Addresses that bind every interface: a mapping on one of them already serves other instances. */
const ALL_INTERFACES = new Set(['0.0.0.0', '::'])

function hostKey(port: number, protocol: Protocol): string {
  return `${protocol}/${port}`
}

/** What the container publishes, and the container ports a mapping or the instance itself kept from being published. */
export function containerPorts(service: Ports): ContainerPorts {
  const published: HostPort[] = service.ports.map((p) => ({ ...p, source: 'ports' }))
  const conflicts: HostPortConflict[] = []
  // The first mapping on each host port and protocol: Docker binds a host port once, whatever the address.
  const held = new Map<string, number>()
  service.ports.forEach((p, i) => {
    if (!held.has(hostKey(p.published, p.protocol))) held.set(hostKey(p.published, p.protocol), i)
  })
  const added = new Set<string>()
  const add = (want: { source: 'target' | 'expose'; index: number; port: number; protocol: Protocol }): void => {
    const key = hostKey(want.port, want.protocol)
    if (added.has(key)) return
    const heldBy = held.get(key)
    const instance = INSTANCE_PORTS.get(key)
    if (heldBy === undefined && instance !== undefined) {
      added.add(key)
      conflicts.push({ ...want, heldBy: { instance } })
      return
    }
    if (heldBy === undefined) {
      added.add(key)
      published.push({ target: want.port, published: want.port, protocol: want.protocol, source: want.source })
      return
    }
    const holder = service.ports[heldBy]!
    if (holder.target === want.port && (holder.hostIp === undefined || ALL_INTERFACES.has(holder.hostIp))) return
    added.add(key)
    conflicts.push({ ...want, heldBy })
  }
  service.ports.forEach((p, index) => add({ source: 'target', index, port: p.target, protocol: p.protocol }))
  service.expose.forEach((e, index) => add({ source: 'expose', index, port: e.port, protocol: e.protocol }))
  return { published, conflicts }
}

/** One `docker run -p` value: `[ip:]published:target/protocol`, an IPv6 address in brackets. */
export function portArg(port: PortMapping): string {
  const ip = port.hostIp ? (port.hostIp.includes(':') ? `[${port.hostIp}]:` : `${port.hostIp}:`) : ''
  return `${ip}${port.published}:${port.target}/${port.protocol}`
}

/** The `docker run -p` values of the service's container. */
export function dockerPortArgs(service: Ports): string[] {
  return containerPorts(service).published.map(portArg)
}

export function ingressKey(rule: IngressRule): string {
  return `${rule.protocol}:${String(rule.fromPort).padStart(5, '0')}-${String(rule.toPort).padStart(5, '0')}:${rule.cidr}`
}

/** Without duplicates, in one order, so that equal rule sets compare and hash equal. */
export function sortIngressRules(rules: readonly IngressRule[]): IngressRule[] {
  const unique = new Map(rules.map((r) => [ingressKey(r), r]))
  return [...unique.values()].sort((a, b) => ingressKey(a).localeCompare(ingressKey(b)))
}

/**
 * Published ports from the VPC (or, with deploy.public, from anywhere; from the load
 * balancer when `publicFrom` says so: the domain's); the container ports published for
 * other services (targets and `expose`) from the VPC only.
 */
export function ingressRules(
  service: Ports & Pick<ServiceModel, 'public'>,
  vpcCidr: string,
  publicFrom: string = ANYWHERE
): IngressRule[] {
  const rules = containerPorts(service).published.map((p) => ({
    protocol: p.protocol,
    fromPort: p.published,
    toPort: p.published,
    cidr: p.source === 'ports' && service.public ? publicFrom : vpcCidr
  }))
  return sortIngressRules(rules)
}

/** The TCP ports a public service publishes from `ports` (what the load balancer forwards to), sorted. */
export function publicPorts(service: Ports & Pick<ServiceModel, 'public'>): number[] {
  if (!service.public) return []
  const ports = containerPorts(service).published.filter((p) => p.source === 'ports' && p.protocol === 'tcp')
  return [...new Set(ports.map((p) => p.published))].sort((a, b) => a - b)
}

/**
 * Compose volumes: the top-level named volumes (each one encrypted EBS volume
 * per replica slot of every service that mounts it: size, type, IOPS,
 * throughput, zone) and the services' `volumes` (short `SOURCE:TARGET[:MODE]`
 * and long syntax). A named volume source mounts a top-level volume; a host
 * path source binds a file of the repository, shipped read-only with the
 * service's configuration (files.ts).
 */
import * as path from 'node:path'
import { repoFileProblemText, repoPath } from './files.js'
import type { Check, KeyAt, StageContext } from './keys.js'
import {
  DEFAULT_VOLUME_GIB,
  type ServiceVolume,
  type SourceLocation,
  type VolumeModel,
  type VolumeType
} from './model.js'
import { compare } from './reads.js'
import { itemTarget as secretItemTarget } from './secrets.js'
import { describe, entryOf, isMap, isSeq, joinPath, type MapNode, type Node, quote, valueOf } from './tree.js'
import { booleanOf, integerOf, stringOf } from './values.js'

/** Compose's pattern for volume names. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/
export const VOLUME_TYPES: readonly VolumeType[] = ['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1']
/** EBS's largest volume, GiB. */
const MAX_GIB = 16384
/** An availability zone: `us-east-1a`, `us-gov-west-1b`, a Local Zone `us-west-2-lax-1a`. */
const ZONE = /^[a-z]{2}(-[a-z0-9]+)*-\d+[a-z]$/

const SYNTAX = 'a list of mounts: "NAME:/path[:ro]", "./file:/path" or {type, source, target, read_only}'
const LONG_KEYS = ['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs', 'image']
/** Docker's options of a short-syntax mount that change nothing here. */
const IGNORED_MODES = ['z', 'Z', 'nocopy', 'shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate', 'consistent']
const UNSUPPORTED_TYPES: Record<string, string> = {
  tmpfs: 'tmpfs mounts are not created',
  npipe: 'named pipes are for Windows hosts',
  cluster: 'cluster volumes are for Swarm',
  image: 'image mounts are not created'
}

interface Issue {
  loc: SourceLocation
  path: string
  message: string
}

/** A mount as written, once its syntax is valid. */
export interface Mount {
  kind: 'volume' | 'bind'
  source: string
  /** Absolute, normalised. */
  target: string
  readOnly: boolean
  /** `:rw` or `read_only: false` written out. */
  writable: boolean
  /** Where the source is written, for the messages about it. */
  sourceLoc: SourceLocation
  sourcePath: string
}

export interface MountRead {
  mount?: Mount
  errors: Issue[]
  warnings: Issue[]
}

/** One item of a service's `volumes`, short or long syntax. */
export function readMount(item: Node, itemPath: string): MountRead {
  if (item.kind === 'map') return readLong(item, itemPath)
  const text = stringOf(item)
  const read: MountRead = { errors: [], warnings: [] }
  if (text === undefined) {
    read.errors.push({ loc: item.loc, path: itemPath, message: `must be ${SYNTAX}, got ${describe(item)}` })
    return read
  }
  const fail = (message: string): MountRead => {
    read.errors.push({ loc: item.loc, path: itemPath, message })
    return read
  }
  const parts = text.split(':')
  if (parts.length > 3) return fail(`${quote(text)} must be SOURCE:TARGET or SOURCE:TARGET:MODE`)
  if (parts.length === 1 && /^[.~]/.test(text)) return fail(`${quote(text)} has no target: write SOURCE:TARGET`)
  const [source = '', target, mode] = parts.length === 1 ? ['', parts[0]] : parts
  if (source === '') return fail(`${quote(text)}: ${anonymous(target)}`)
  const problem = targetProblem(target ?? '')
  if (problem) return fail(`${quote(text)}: the target ${problem}`)
  let readOnly = false
  let writable = false
  for (const option of mode === undefined ? [] : mode.split(',')) {
    if (option === 'ro') readOnly = true
    else if (option === 'rw') writable = true
    else if (IGNORED_MODES.includes(option))
      read.warnings.push({ loc: item.loc, path: itemPath, message: `mode ${quote(option)} is ignored` })
    else return fail(`${quote(text)}: mode ${quote(option)} is not "ro" or "rw"`)
  }
  if (readOnly && writable) return fail(`${quote(text)}: the mode is both "ro" and "rw"`)
  const kind = /^[./~]/.test(source) ? 'bind' : 'volume'
  read.mount = {
    kind,
    source,
    target: path.posix.resolve('/', target!),
    readOnly: kind === 'bind' || readOnly,
    writable,
    sourceLoc: item.loc,
    sourcePath: itemPath
  }
  return read
}

function anonymous(target: string | undefined): string {
  const as = target && path.posix.isAbsolute(target) ? `NAME:${target}` : 'NAME:/path'
  return `anonymous volumes are not kept: name it under top-level "volumes" and mount it as ${as}`
}

function targetProblem(target: string): string | undefined {
  if (!path.posix.isAbsolute(target) || [...target].some((ch) => ch.charCodeAt(0) < 0x20))
    return `must be an absolute path in the container, got ${quote(target)}`
  if (path.posix.normalize(target) === '/') return 'must not be the root directory'
  return undefined
}

function readLong(item: MapNode, itemPath: string): MountRead {
  const read: MountRead = { errors: [], warnings: [] }
  const error = (loc: SourceLocation, key: string, message: string): void => {
    read.errors.push({ loc, path: joinPath(itemPath, key), message })
  }
  for (const entry of item.entries) {
    if (!LONG_KEYS.includes(entry.key) && !entry.key.startsWith('x-'))
      error(entry.keyLoc, entry.key, `is not a key of a mount; expected ${LONG_KEYS.map((k) => `"${k}"`).join(', ')}`)
  }
  const typeNode = valueOf(item, 'type')
  const type = stringOf(typeNode)
  if (typeNode === undefined)
    error(item.loc, 'type', 'is required: "volume" (a named volume) or "bind" (a repository file)')
  else if (type !== undefined && UNSUPPORTED_TYPES[type] !== undefined)
    error(typeNode.loc, 'type', `${quote(type)} is not supported: ${UNSUPPORTED_TYPES[type]}`)
  else if (type !== 'volume' && type !== 'bind')
    error(
      typeNode.loc,
      'type',
      `must be "volume" (a named volume) or "bind" (a repository file), got ${describe(typeNode)}`
    )
  const kind = type === 'volume' || type === 'bind' ? type : undefined
  const targetNode = valueOf(item, 'target')
  const target = stringOf(targetNode)
  if (targetNode === undefined) error(item.loc, 'target', 'is required: the absolute path in the container')
  else {
    const problem =
      target === undefined
        ? `must be an absolute path in the container, got ${describe(targetNode)}`
        : targetProblem(target)
    if (problem) error(targetNode.loc, 'target', problem)
  }
  const sourceNode = valueOf(item, 'source')
  const source = stringOf(sourceNode)
  if (sourceNode !== undefined && (source === undefined || source === ''))
    error(sourceNode.loc, 'source', `must be a volume name or a file path, got ${describe(sourceNode)}`)
  else if (sourceNode === undefined && kind === 'volume') error(item.loc, 'source', anonymous(target))
  else if (sourceNode === undefined && kind === 'bind')
    error(item.loc, 'source', 'is required: the repository file to bind, relative to the first compose file')
  const readOnlyNode = valueOf(item, 'read_only')
  const readOnly = booleanOf(readOnlyNode)
  if (readOnlyNode !== undefined && readOnly === undefined)
    error(readOnlyNode.loc, 'read_only', `must be true or false, got ${describe(readOnlyNode)}`)
  for (const key of ['tmpfs', 'image']) {
    const entry = entryOf(item, key)
    if (entry) error(entry.keyLoc, key, `is for mounts of type ${key}, which are not supported`)
  }
  const bind = entryOf(item, 'bind')
  if (bind) {
    const message = 'ignored: the agent writes the file and binds it read-only; bind options do not apply'
    read.warnings.push({ loc: bind.keyLoc, path: joinPath(itemPath, 'bind'), message })
  }
  readVolumeOptions(item, itemPath, read)
  if (read.errors.length > 0 || kind === undefined || source === undefined || target === undefined) return read
  read.mount = {
    kind,
    source,
    target: path.posix.resolve('/', target),
    readOnly: kind === 'bind' || readOnly === true,
    writable: readOnly === false,
    sourceLoc: sourceNode!.loc,
    sourcePath: joinPath(itemPath, 'source')
  }
  return read
}

/** `volume: {nocopy, subpath}`: nocopy changes nothing on an EBS volume; a subpath would, and is refused. */
function readVolumeOptions(item: MapNode, itemPath: string, read: MountRead): void {
  const options = valueOf(item, 'volume')
  const at = joinPath(itemPath, 'volume')
  if (options === undefined) return
  if (!isMap(options)) {
    read.errors.push({ loc: options.loc, path: at, message: `must be a mapping, got ${describe(options)}` })
    return
  }
  for (const entry of options.entries) {
    const keyPath = joinPath(at, entry.key)
    if (entry.key === 'nocopy')
      read.warnings.push({
        loc: entry.keyLoc,
        path: keyPath,
        message: "ignored: a new volume starts empty; the image's files at the target are not copied into it"
      })
    else if (entry.key === 'subpath')
      read.errors.push({ loc: entry.keyLoc, path: keyPath, message: 'not supported: the whole volume is mounted' })
    else if (!entry.key.startsWith('x-'))
      read.errors.push({ loc: entry.keyLoc, path: keyPath, message: 'is not a volume option; expected "nocopy"' })
  }
}

/** The path in the container of a service volume item, for merging by target; undefined if malformed. */
export function mountTarget(item: Node): string | undefined {
  return readMount(item, '').mount?.target
}

/** The valid mounts of a service. */
export function mountsOf(service: MapNode): Mount[] {
  const list = valueOf(service, 'volumes')
  return (isSeq(list) ? list.items : []).flatMap((item) => readMount(item, '').mount ?? [])
}

/** Every service's valid mounts, for the files to read and the volumes to create. */
export function allMounts(root: MapNode): Mount[] {
  const services = valueOf(root, 'services')
  return (isMap(services) ? services.entries : []).flatMap((e) => (isMap(e.value) ? mountsOf(e.value) : []))
}

/** The bind sources of the (not yet validated) services, as absolute paths. */
export function bindPaths(root: MapNode, baseDir: string): string[] {
  return allMounts(root)
    .filter((m) => m.kind === 'bind')
    .map((m) => repoPath(m.source, baseDir))
}

/** The secrets' targets of a service, with their items' paths. */
export function secretTargets(service: MapNode, servicePath: string): Map<string, string> {
  const list = valueOf(service, 'secrets')
  const targets = new Map<string, string>()
  if (!isSeq(list)) return targets
  list.items.forEach((item, i) => {
    const target = secretItemTarget(item)
    if (target !== undefined && !targets.has(target)) targets.set(target, joinPath(joinPath(servicePath, 'secrets'), i))
  })
  return targets
}

// Service volumes

export function checkServiceVolumes({ node, path: at, parent, parentPath }: KeyAt, check: Check): void {
  const { diags, ctx } = check
  if (node.kind !== 'seq') {
    diags.error(node.loc, at, `must be ${SYNTAX}, got ${describe(node)}`)
    return
  }
  const declared = valueOf(ctx.root, 'volumes')
  const targets = new Map<string, string>()
  const names = new Map<string, string>()
  const secrets = secretTargets(parent, parentPath)
  node.items.forEach((item, i) => {
    const itemPath = joinPath(at, i)
    const read = readMount(item, itemPath)
    for (const e of read.errors) diags.error(e.loc, e.path, e.message)
    for (const w of read.warnings) diags.warn(w.loc, w.path, w.message)
    const mount = read.mount
    if (!mount) return
    if (mount.kind === 'volume') {
      const first = names.get(mount.source)
      if (!isMap(declared) || !entryOf(declared, mount.source))
        diags.error(
          mount.sourceLoc,
          mount.sourcePath,
          `volume ${quote(mount.source)} is not declared in the top-level "volumes" (a path to a repository file starts with "./")`
        )
      else if (first)
        diags.error(mount.sourceLoc, mount.sourcePath, `volume ${quote(mount.source)} is already mounted by ${first}`)
      else names.set(mount.source, itemPath)
    } else checkBind(mount, check)
    const taken = targets.get(mount.target) ?? secrets.get(mount.target)
    if (taken) diags.error(item.loc, itemPath, `target ${quote(mount.target)} is already used by ${taken}`)
    else targets.set(mount.target, itemPath)
  })
}

function checkBind(mount: Mount, { diags, ctx }: Check): void {
  const what = `bind mount of ${mount.source}`
  const file = ctx.repoFiles.get(repoPath(mount.source, ctx.baseDir))
  if (file?.problem) {
    const hint = ['directory', 'large'].includes(file.problem.kind)
      ? '; use a named volume, or put the file in the image'
      : ''
    diags.error(mount.sourceLoc, mount.sourcePath, `${what}: ${repoFileProblemText(file.problem)}${hint}`)
  } else if (mount.writable)
    diags.warn(
      mount.sourceLoc,
      mount.sourcePath,
      `${what}: the file is read-only on the instance (it is shipped from the repository); writes fail`
    )
}

/** A service's named volumes, sorted by name (absent: none). */
export function serviceVolumesOf(service: MapNode | undefined): { volumes?: ServiceVolume[] } {
  const volumes = (service ? mountsOf(service) : [])
    .filter((m) => m.kind === 'volume')
    .map((m) => ({ name: m.source, target: m.target, readOnly: m.readOnly }))
    .sort((a, b) => compare(a.name, b.name))
  return volumes.length > 0 ? { volumes } : {}
}

// Top-level volumes

export function checkVolumes({ node, path: at }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'map' && !(node.kind === 'scalar' && node.value === null))
    diags.error(node.loc, at, `must be a mapping of volume names to volumes, got ${describe(node)}`)
}

/** The name, the value, the settings together (type, size, IOPS, throughput), and whether a service mounts it. */
export function checkVolume({ key, keyLoc, node, path: at }: KeyAt, check: Check): void {
  const { diags, ctx } = check
  if (!VOLUME_NAME.test(key))
    diags.error(
      keyLoc,
      at,
      `volume name ${quote(key)} must start with a letter or digit, then letters, digits, ".", "_" and "-"`
    )
  if (!isMap(node) && !(node.kind === 'scalar' && node.value === null)) {
    diags.error(node.loc, at, `must be a mapping (or empty), got ${describe(node)}`)
    return
  }
  if (isMap(node)) checkSettings({ decl: node, keyLoc, path: at }, check)
  const external = isMap(node) && booleanOf(valueOf(node, 'external')) === true
  if (!external && !allMounts(ctx.root).some((m) => m.kind === 'volume' && m.source === key))
    diags.warn(keyLoc, at, 'not mounted by any service: nothing is created')
}

interface Setting {
  node: Node
  path: string
}

/** `x-hyperform` wins over `driver_opts`; `zone` is only in `x-hyperform`. */
function settingOf(decl: MapNode, at: string, key: string): Setting | undefined {
  for (const group of ['x-hyperform', 'driver_opts']) {
    const map = valueOf(decl, group)
    const node = isMap(map) ? valueOf(map, key) : undefined
    if (node !== undefined && !(group === 'driver_opts' && key === 'zone'))
      return { node, path: joinPath(joinPath(at, group), key) }
  }
  return undefined
}

/** A size in GiB: `20`, `"20G"`, `"20Gi"`, `"20GiB"`, `"1T"`; undefined if not one. */
export function gibOf(node: Node | undefined): number | undefined {
  if (node?.kind !== 'scalar' || (typeof node.value !== 'string' && typeof node.value !== 'number')) return undefined
  const match = /^\s*(\d+)\s*(g|gi|gib|gb|t|ti|tib|tb)?\s*$/i.exec(String(node.value))
  if (!match) return undefined
  const value = Number(match[1]) * (/^t/i.test(match[2] ?? '') ? 1024 : 1)
  return value >= 1 && value <= MAX_GIB ? value : undefined
}

function typeOf(node: Node | undefined): VolumeType | undefined {
  const text = stringOf(node)
  return VOLUME_TYPES.find((t) => t === text)
}

function positiveOf(node: Node | undefined): number | undefined {
  const value = integerOf(node)
  return value !== undefined && value > 0 ? value : undefined
}

export function checkVolumeSize({ node, path: at }: KeyAt, { diags }: Check): void {
  if (gibOf(node) === undefined)
    diags.error(
      node.loc,
      at,
      `must be a size in GiB from 1 to ${MAX_GIB}, such as 20 or "20GiB", got ${describe(node)}`
    )
}

export function checkVolumeType({ node, path: at }: KeyAt, { diags }: Check): void {
  if (typeOf(node) === undefined)
    diags.error(node.loc, at, `must be an EBS volume type: ${VOLUME_TYPES.join(', ')}; got ${describe(node)}`)
}

export function checkPositive({ node, path: at }: KeyAt, { diags }: Check): void {
  if (positiveOf(node) === undefined) diags.error(node.loc, at, `must be a positive integer, got ${describe(node)}`)
}

export function checkZone({ node, path: at }: KeyAt, { diags }: Check): void {
  const zone = stringOf(node)
  if (zone === undefined || !ZONE.test(zone))
    diags.error(node.loc, at, `must be an availability zone name such as "us-east-1a", got ${describe(node)}`)
}

export function checkVolumeDriver({ node, path: at }: KeyAt, { diags }: Check): void {
  if (node.kind === 'scalar' && (node.value === null || node.value === 'local')) return
  diags.error(
    node.loc,
    at,
    `must be "local" (or absent): each volume is an EBS volume the action creates, got ${describe(node)}`
  )
}

export function checkVolumeExternal(at: KeyAt, { diags }: Check): void {
  if (booleanOf(at.node) === false) return
  diags.error(at.keyLoc, at.path, `not supported: ${EXTERNAL}`)
}

export const EXTERNAL = "external volumes are not supported: the action creates and keeps each service's volumes"

/** IOPS each type allows, and per GiB; throughput (gp3) per IOPS. */
const IOPS: Partial<Record<VolumeType, { min: number; max: number; perGiB: number }>> = {
  gp3: { min: 3000, max: 16000, perGiB: 500 },
  io1: { min: 100, max: 64000, perGiB: 50 },
  io2: { min: 100, max: 256000, perGiB: 1000 }
}
const MIN_GIB: Record<VolumeType, number> = { gp3: 1, gp2: 1, io1: 4, io2: 4, st1: 125, sc1: 125 }

/** The rules EBS applies to the settings together; reported once each value on its own is valid. */
function checkSettings(at: { decl: MapNode; keyLoc: SourceLocation; path: string }, { diags }: Check): void {
  const [size, type, iops, throughput] = ['size', 'type', 'iops', 'throughput'].map((k) =>
    settingOf(at.decl, at.path, k)
  )
  if (size && gibOf(size.node) === undefined) return
  if (type && typeOf(type.node) === undefined) return
  if ((iops && positiveOf(iops.node) === undefined) || (throughput && positiveOf(throughput.node) === undefined)) return
  const kind = typeOf(type?.node) ?? 'gp3'
  const gib = gibOf(size?.node) ?? DEFAULT_VOLUME_GIB
  const fail = (setting: Setting | undefined, message: string): void =>
    diags.error(setting?.node.loc ?? at.keyLoc, setting?.path ?? at.path, message)
  if (gib < MIN_GIB[kind])
    fail(size ?? type, `${kind} volumes are at least ${MIN_GIB[kind]} GiB, and the size is ${gib} GiB`)
  const limits = IOPS[kind]
  const iopsValue = positiveOf(iops?.node)
  if (iops && !limits) fail(iops, `is for gp3, io1 and io2 volumes only, and the type is ${kind}`)
  if (!iops && limits && kind !== 'gp3') fail(type, `${kind} volumes need "iops" (${limits.min} to ${limits.max})`)
  if (iopsValue !== undefined && limits) {
    if (iopsValue < limits.min || iopsValue > limits.max)
      fail(iops, `${iopsValue} is not from ${limits.min} to ${limits.max}, the IOPS of a ${kind} volume`)
    else if (iopsValue > limits.min && iopsValue > limits.perGiB * gib)
      fail(iops, `${iopsValue} is more than ${limits.perGiB} IOPS per GiB of a ${kind} volume of ${gib} GiB`)
  }
  const throughputValue = positiveOf(throughput?.node)
  if (throughput && kind !== 'gp3') fail(throughput, `is for gp3 volumes only, and the type is ${kind}`)
  else if (throughputValue !== undefined) {
    const most = Math.floor((iopsValue ?? IOPS.gp3!.min) / 4)
    if (throughputValue < 125 || throughputValue > 1000)
      fail(throughput, `${throughputValue} is not from 125 to 1000 MiB/s, the throughput of a gp3 volume`)
    else if (throughputValue > most)
      fail(
        throughput,
        `${throughputValue} MiB/s is more than a gp3 volume of ${iopsValue ?? 3000} IOPS allows (${most}: 0.25 MiB/s per IOPS)`
      )
  }
}

/** The top-level volumes some service mounts, sorted by name (absent: none). */
export function volumesOf(node: Node | undefined, ctx: StageContext): { volumes?: VolumeModel[] } {
  if (!isMap(node)) return {}
  const mounted = new Set(allMounts(ctx.root).flatMap((m) => (m.kind === 'volume' ? [m.source] : [])))
  const volumes = node.entries
    .filter((e) => mounted.has(e.key))
    .map((e) => volumeOf(e.key, e.keyLoc, isMap(e.value) ? e.value : undefined))
    .sort((a, b) => compare(a.name, b.name))
  return volumes.length > 0 ? { volumes } : {}
}

function volumeOf(name: string, location: SourceLocation, decl: MapNode | undefined): VolumeModel {
  const get = (key: string): Node | undefined => (decl ? settingOf(decl, name, key)?.node : undefined)
  const iops = positiveOf(get('iops'))
  const throughput = positiveOf(get('throughput'))
  const zone = stringOf(get('zone'))
  return {
    name,
    sizeGiB: gibOf(get('size')) ?? DEFAULT_VOLUME_GIB,
    type: typeOf(get('type')) ?? 'gp3',
    ...(iops !== undefined ? { iops } : {}),
    ...(throughput !== undefined ? { throughput } : {}),
    ...(zone !== undefined ? { zone } : {}),
    location
  }
}

/**
 * Compose secrets: the top-level declarations (where each value comes from:
 * a file, a variable, or an existing AWS secret read on the instance) and the
 * services' `secrets` (which file in the container, owner and mode). Secret
 * values are secrets-grade: no message quotes one.
 */
import { readFile, stat } from 'node:fs/promises'
import * as path from 'node:path'
import type { Reference } from '../agent/config.js'
import { buildSecretFileProblem, buildSecretNames } from './build.js'
import { displayPath } from './envfile.js'
import { envNameProblem } from './environment.js'
import type { Check, KeyAt, StageContext } from './keys.js'
import type { ServiceSecret } from './model.js'
import { readProblem } from './parse.js'
import { referenceOf, SECRET_EXAMPLE, SSM_EXAMPLE } from './references.js'
import {
  describe,
  type Entry,
  entryOf,
  isMap,
  isSeq,
  joinPath,
  type MapNode,
  type Node,
  quote,
  valueOf
} from './tree.js'
import { booleanOf, integerOf, stringOf } from './values.js'

export const SECRETS_DIR = '/run/secrets'
/** Compose's default: world-readable, as the container's user is not known here. */
export const DEFAULT_SECRET_MODE = 0o444
/** An inline value travels in an SSM SecureString, which holds at most 8 KB (advanced tier). */
export const SECRET_FILE_LIMIT = 8192
/** Compose's pattern for secret names; the name is also the default file name. */
const SECRET_NAME = /^[a-zA-Z0-9._-]+$/

export const SOURCES =
  'the supported sources are "file" (a path read when the action runs, relative to the first compose file), "environment" (the name of a variable of the step or of .env) and "x-hyperform.from" (an existing AWS secret read on the instance with the instance role: ssm:/path/name or a Secrets Manager secret ARN)'

/** A secret file as read when the action runs: its content, or why it could not be read. */
export interface SecretFile {
  /** Relative to the workspace, for messages. */
  display: string
  value?: string
  problem?: string
}

/** The names of the top-level secrets the (not yet validated) services mount. */
function mountedSecretNames(root: MapNode): Set<string> {
  const services = valueOf(root, 'services')
  const names = new Set<string>()
  for (const service of isMap(services) ? services.entries : []) {
    const list = isMap(service.value) ? valueOf(service.value, 'secrets') : undefined
    for (const item of isSeq(list) ? list.items : []) {
      const name = isMap(item) ? stringOf(valueOf(item, 'source')) : stringOf(item)
      if (name !== undefined) names.add(name)
    }
  }
  return names
}

/**
 * The `file` sources of the (not yet validated) top-level secrets, as absolute paths. A secret
 * only builds use is not read: buildx reads it (build.ts checks that it exists).
 */
export function secretFilePaths(root: MapNode, baseDir: string): string[] {
  const secrets = valueOf(root, 'secrets')
  if (!isMap(secrets)) return []
  const mounted = mountedSecretNames(root)
  const buildOnly = new Set([...buildSecretNames(root)].filter((name) => !mounted.has(name)))
  const paths = new Set<string>()
  for (const entry of secrets.entries) {
    if (buildOnly.has(entry.key)) continue
    const file = isMap(entry.value) ? stringOf(valueOf(entry.value, 'file')) : undefined
    if (file) paths.add(path.resolve(baseDir, file))
  }
  return [...paths]
}

export async function loadSecretFiles(paths: readonly string[], workspace: string): Promise<Map<string, SecretFile>> {
  const files = await Promise.all(paths.map((p) => readSecretFile(p, workspace)))
  return new Map(paths.map((p, i) => [p, files[i]!]))
}

async function readSecretFile(absolutePath: string, workspace: string): Promise<SecretFile> {
  const display = displayPath(absolutePath, workspace)
  const tooLarge = `is larger than ${SECRET_FILE_LIMIT} bytes, the most an SSM parameter holds; keep it in Secrets Manager and use "x-hyperform: {from: <secret ARN>}"`
  try {
    // Size first: a path to a large file by mistake is not read into memory.
    const info = await stat(absolutePath)
    if (info.isDirectory()) return { display, problem: 'is a directory, not a file' }
    if (info.size > SECRET_FILE_LIMIT) return { display, problem: tooLarge }
    const bytes = await readFile(absolutePath)
    if (bytes.length > SECRET_FILE_LIMIT) return { display, problem: tooLarge }
    try {
      return { display, value: new TextDecoder('utf-8', { fatal: true }).decode(bytes) }
    } catch {
      return { display, problem: 'is not UTF-8 text; store binary secrets base64-encoded' }
    }
  } catch (error) {
    return { display, problem: readProblem(error as NodeJS.ErrnoException) }
  }
}

// Top-level secrets

export function checkSecrets({ node, path }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'map')
    diags.error(node.loc, path, `must be a mapping of secret names to secrets, got ${describe(node)}`)
}

/** The name, and exactly one source (an external secret must say which AWS secret it is). */
export function checkSecret({ key, keyLoc, node, path }: KeyAt, { diags }: Check): void {
  if (!SECRET_NAME.test(key) || key === '.' || key === '..') {
    diags.error(
      keyLoc,
      path,
      `secret name ${quote(key)} must contain only letters, digits, ".", "_" and "-": it is the file name under ${SECRETS_DIR}`
    )
  }
  if (node.kind !== 'map') {
    diags.error(node.loc, path, `must be a mapping with a source, got ${describe(node)}; ${SOURCES}`)
    return
  }
  const sources = ['file', 'environment', 'x-hyperform']
    .map((k) => entryOf(node, k))
    .filter((e): e is Entry => e !== undefined)
    .sort((a, b) => a.keyLoc.line - b.keyLoc.line || a.keyLoc.column - b.keyLoc.column)
  const external = entryOf(node, 'external')
  if (external && booleanOf(external.value) === true) {
    const local = sources.find((e) => e.key !== 'x-hyperform')
    if (local) {
      diags.error(
        external.keyLoc,
        joinPath(path, 'external'),
        `conflicts with "${local.key}": an external secret is an existing AWS secret, named with "x-hyperform: {from: ...}"`
      )
    } else if (sources.length === 0) {
      diags.error(
        external.keyLoc,
        joinPath(path, 'external'),
        `an external secret must say which AWS secret it is with "x-hyperform: {from: ...}"; ${SOURCES}`
      )
    }
    return
  }
  if (sources.length === 0) {
    const name = entryOf(node, 'name')
    if (name) diags.error(name.keyLoc, joinPath(path, 'name'), `does not say where the value comes from; ${SOURCES}`)
    else diags.error(keyLoc, path, `has no source; ${SOURCES}`)
  } else if (sources.length > 1) {
    const second = sources[1]!
    diags.error(
      second.keyLoc,
      joinPath(path, second.key),
      `a secret has one source, and "${sources[0]!.key}" is set too`
    )
  }
}

export function checkSecretFile({ node, path: keyPath }: KeyAt, { diags, ctx }: Check): void {
  const file = stringOf(node)
  if (!file) {
    diags.error(node.loc, keyPath, `must be the path of the file holding the secret, got ${describe(node)}`)
    return
  }
  const absolute = path.resolve(ctx.baseDir, file)
  const loaded = ctx.secretFiles.get(absolute)
  const forBuild = loaded ? undefined : ctx.buildPaths.get(absolute)
  const buildProblem = forBuild ? buildSecretFileProblem(forBuild) : undefined
  if (forBuild && buildProblem)
    diags.error(node.loc, keyPath, `secret file ${quote(forBuild.display)}: ${buildProblem}`)
  if (!loaded?.problem) return
  const hint = loaded.problem === 'file not found' ? ' (paths are relative to the first compose file)' : ''
  diags.error(node.loc, keyPath, `secret file ${quote(loaded.display)}: ${loaded.problem}${hint}`)
}

export function checkSecretEnvironment({ node, path }: KeyAt, { diags, ctx }: Check): void {
  const name = stringOf(node)
  if (name === undefined) {
    diags.error(node.loc, path, `must be the name of the variable holding the secret, got ${describe(node)}`)
    return
  }
  // A name that came from `${...}` may be a value written where a name belongs: never quote it.
  const hidden = node.kind === 'scalar' && node.interpolated === true
  const shown = hidden ? 'the variable this names (after interpolation)' : `variable ${name}`
  if (envNameProblem(name))
    diags.error(
      node.loc,
      path,
      `${hidden ? 'the interpolated value' : quote(name)} is not a variable name (letters, digits and underscores, not starting with a digit): write the name of the variable holding the secret, such as "environment: DB_PASSWORD", not its value`
    )
  else if (ctx.lookup(name) === undefined)
    diags.error(node.loc, path, `${shown} is not set in the step's environment or in .env`)
  else if (ctx.lookup(name) === '') diags.warn(node.loc, path, `${shown} is empty; the secret file will be empty`)
}

export function checkExternal({ node, path }: KeyAt, { diags }: Check): void {
  if (booleanOf(node) === undefined) {
    diags.error(
      node.loc,
      path,
      `must be true or false, got ${describe(node)}; name the AWS secret with "x-hyperform: {from: ...}"`
    )
  }
}

export function checkSecretFrom({ node, path }: KeyAt, { diags }: Check): void {
  const value = stringOf(node)
  const read = value === undefined ? undefined : referenceOf(value)
  if (read && 'problem' in read) diags.error(node.loc, path, read.problem)
  else if (!read)
    diags.error(
      node.loc,
      path,
      `must be an SSM parameter such as ${SSM_EXAMPLE} or a Secrets Manager secret ARN such as ${SECRET_EXAMPLE}, got ${describe(node)}`
    )
}

export function checkString({ node, path }: KeyAt, { diags }: Check): void {
  if (stringOf(node) === undefined) diags.error(node.loc, path, `must be a string, got ${describe(node)}`)
}

// Service secrets

const LONG_KEYS = ['source', 'target', 'uid', 'gid', 'mode']

/** The path in the container: `target` (under /run/secrets when relative), else /run/secrets/<source>. */
export function secretTarget(source: string, target: string | undefined): string {
  return path.posix.resolve(SECRETS_DIR, target ?? source)
}

/** The path in the container of a service secret item, for merging by target; undefined if malformed. */
export function itemTarget(item: Node): string | undefined {
  const source = isMap(item) ? stringOf(valueOf(item, 'source')) : stringOf(item)
  if (source === undefined) return undefined
  return secretTarget(source, isMap(item) ? stringOf(valueOf(item, 'target')) : undefined)
}

/**
 * A file mode in octal: a string (`"0440"`, as Compose parses strings) or a
 * number written in octal (`0440`, octal to Compose's YAML 1.1, or `0o440`);
 * a decimal number (`440`) would be 0670 to Compose and is refused.
 */
export function fileModeOf(node: Node): number | undefined {
  if (node.kind !== 'scalar') return undefined
  let mode: number | undefined
  if (typeof node.value === 'string' && /^(0o)?[0-7]+$/.test(node.value.trim()))
    mode = parseInt(node.value.trim().replace(/^0o/, ''), 8)
  else if (typeof node.value === 'number' && /^0[0-7]*$/.test(node.source ?? '')) mode = parseInt(node.source!, 8)
  else if (typeof node.value === 'number' && /^0o[0-7]+$/.test(node.source ?? '')) mode = node.value
  return mode !== undefined && mode <= 0o777 ? mode : undefined
}

export function modeText(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`
}

/** A numeric user or group id, as a string. */
function idOf(node: Node | undefined): string | undefined {
  const value = integerOf(node)
  return value !== undefined && value >= 0 ? String(value) : undefined
}

export function checkServiceSecrets({ node, path }: KeyAt, check: Check): void {
  if (node.kind !== 'seq') {
    check.diags.error(
      node.loc,
      path,
      `must be a list of secret names or {source, target, uid, gid, mode} mappings, got ${describe(node)}`
    )
    return
  }
  const targets = new Map<string, string>()
  node.items.forEach((item, i) => {
    const itemPath = joinPath(path, i)
    if (!checkServiceSecret(item, itemPath, check)) return
    const target = itemTarget(item)!
    const first = targets.get(target)
    if (first) check.diags.error(item.loc, itemPath, `target ${quote(target)} is already used by ${first}`)
    else targets.set(target, itemPath)
  })
}

/** Returns whether the item is valid. */
function checkServiceSecret(item: Node, itemPath: string, check: Check): boolean {
  if (item.kind === 'map') return checkLongSecret(item, itemPath, check)
  const source = stringOf(item)
  if (source === undefined) {
    check.diags.error(
      item.loc,
      itemPath,
      `must be a secret name or a {source, target, uid, gid, mode} mapping, got ${describe(item)}`
    )
    return false
  }
  return checkDeclared({ node: item, path: itemPath, source }, check)
}

/** A secret or a config: what the long syntax of a service's file mount refers to. */
export interface FileMountKind {
  noun: 'secret' | 'config'
  /** The top-level key that declares them. */
  top: 'secrets' | 'configs'
  /** The path in the container of a mount of `source` at `target`. */
  target: (source: string, target: string | undefined) => string
}

const SECRET: FileMountKind = {
  noun: 'secret',
  top: 'secrets',
  target: (source, target) => secretTarget(source, target)
}

export function checkDeclared(
  at: { node: Node; path: string; source: string },
  { diags, ctx }: Check,
  kind: FileMountKind = SECRET
): boolean {
  const declared = valueOf(ctx.root, kind.top)
  if (isMap(declared) && entryOf(declared, at.source)) return true
  diags.error(at.node.loc, at.path, `${kind.noun} ${quote(at.source)} is not declared in the top-level "${kind.top}"`)
  return false
}

/**
 * The long syntax a service's secrets and configs share (Compose's file mounts): its keys, `source`
 * (declared at the top level), `target` and `mode`. `uid` and `gid` are the caller's.
 */
export function checkLongFileMount(item: MapNode, itemPath: string, check: Check, kind: FileMountKind): boolean {
  const { diags } = check
  let ok = true
  const fail = (node: Node, key: string, message: string): void => {
    diags.error(node.loc, joinPath(itemPath, key), message)
    ok = false
  }
  for (const entry of item.entries) {
    if (!LONG_KEYS.includes(entry.key) && !entry.key.startsWith('x-')) {
      diags.error(
        entry.keyLoc,
        joinPath(itemPath, entry.key),
        `is not a key of a service ${kind.noun}; expected ${LONG_KEYS.map((k) => `"${k}"`).join(', ')}`
      )
      ok = false
    }
  }
  const source = valueOf(item, 'source')
  if (source === undefined) {
    diags.error(item.loc, joinPath(itemPath, 'source'), `is required: the name of a top-level ${kind.noun}`)
    ok = false
  } else if (stringOf(source) === undefined)
    fail(source, 'source', `must be a ${kind.noun} name, got ${describe(source)}`)
  else if (!checkDeclared({ node: source, path: joinPath(itemPath, 'source'), source: stringOf(source)! }, check, kind))
    ok = false
  const target = valueOf(item, 'target')
  if (target !== undefined) {
    const text = stringOf(target)
    if (!text || [...text].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
      fail(target, 'target', `must be a file path in the container, got ${describe(target)}`)
    else if (kind.target('', text) === '/') fail(target, 'target', 'must name a file, not the root directory')
  }
  const mode = valueOf(item, 'mode')
  if (mode !== undefined && fileModeOf(mode) === undefined) {
    const decimal = mode.kind === 'scalar' && typeof mode.value === 'number' && !(mode.source ?? '').startsWith('0')
    const why = decimal ? ` (Compose reads a number without a leading 0 as decimal: write 0${mode.source ?? ''})` : ''
    fail(
      mode,
      'mode',
      `must be an octal file mode from 0000 to 0777, such as 0440 or "0440", got ${describe(mode)}${why}`
    )
  }
  return ok
}

function checkLongSecret(item: MapNode, itemPath: string, check: Check): boolean {
  let ok = checkLongFileMount(item, itemPath, check, SECRET)
  for (const key of ['uid', 'gid']) {
    const id = valueOf(item, key)
    if (id !== undefined && idOf(id) === undefined) {
      check.diags.error(
        id.loc,
        joinPath(itemPath, key),
        `must be a numeric ${key === 'uid' ? 'user' : 'group'} id, got ${describe(id)}`
      )
      ok = false
    }
  }
  return ok
}

/** The services' secrets with their values or references; validation has checked everything. */
export function serviceSecretsOf(node: Node | undefined, ctx: StageContext): ServiceSecret[] {
  const declared = valueOf(ctx.root, 'secrets') as MapNode
  return (isSeq(node) ? node.items : []).map((item) => {
    const long = isMap(item) ? item : undefined
    const name = (long ? stringOf(valueOf(long, 'source')) : stringOf(item))!
    const modeNode = long ? valueOf(long, 'mode') : undefined
    const uid = long ? idOf(valueOf(long, 'uid')) : undefined
    const gid = long ? idOf(valueOf(long, 'gid')) : undefined
    return {
      name,
      target: secretTarget(name, long ? stringOf(valueOf(long, 'target')) : undefined),
      mode: modeText(modeNode ? fileModeOf(modeNode)! : DEFAULT_SECRET_MODE),
      ...(uid !== undefined ? { uid } : {}),
      ...(gid !== undefined ? { gid } : {}),
      ...secretValueOf(valueOf(declared, name) as MapNode, ctx)
    }
  })
}

function secretValueOf(declaration: MapNode, ctx: StageContext): { value: string } | { from: Reference } {
  const extension = valueOf(declaration, 'x-hyperform')
  const from = isMap(extension) ? referenceOf(stringOf(valueOf(extension, 'from')) ?? '') : undefined
  if (from && 'reference' in from) return { from: from.reference }
  const file = stringOf(valueOf(declaration, 'file'))
  if (file !== undefined) return { value: ctx.secretFiles.get(path.resolve(ctx.baseDir, file))?.value ?? '' }
  return { value: ctx.lookup(stringOf(valueOf(declaration, 'environment')) ?? '') ?? '' }
}

/**
 * Compose configs: the top-level declarations (a repository file, inline
 * `content` or a variable's value) and the services' `configs` (which file in
 * the container, and its mode). Each becomes a read-only file shipped with
 * the service's configuration, like a bind mount of a repository file, and
 * under the same size limit (files.ts).
 */
import * as path from 'node:path'
import { packFile, REPO_FILE_LIMIT, repoFileProblemText, repoPath } from './files.js'
import { envNameProblem } from './environment.js'
import type { Check, KeyAt, StageContext } from './keys.js'
import type { ServiceFile } from './model.js'
import { compare } from './reads.js'
import {
  checkDeclared,
  checkLongFileMount,
  DEFAULT_SECRET_MODE,
  fileModeOf,
  modeText,
  type FileMountKind
} from './secrets.js'
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
import { mountsOf, readMount, secretTargets } from './volumes.js'

/** Compose's pattern for config names, as for secrets. */
const CONFIG_NAME = /^[a-zA-Z0-9._-]+$/
const SOURCES =
  'the supported sources are "file" (a file of the repository, relative to the first compose file), "content" (the text itself) and "environment" (the name of a variable of the step or of .env)'

/** The `file` sources of the (not yet validated) top-level configs, as absolute paths. */
export function configFilePaths(root: MapNode, baseDir: string): string[] {
  const configs = valueOf(root, 'configs')
  if (!isMap(configs)) return []
  return configs.entries.flatMap((e) => {
    const file = isMap(e.value) ? stringOf(valueOf(e.value, 'file')) : undefined
    return file ? [repoPath(file, baseDir)] : []
  })
}

// Top-level configs

export function checkConfigs({ node, path: at }: KeyAt, { diags }: Check): void {
  if (node.kind !== 'map' && !(node.kind === 'scalar' && node.value === null))
    diags.error(node.loc, at, `must be a mapping of config names to configs, got ${describe(node)}`)
}

/** The name, and exactly one source. */
export function checkConfig({ key, keyLoc, node, path: at }: KeyAt, { diags }: Check): void {
  if (!CONFIG_NAME.test(key) || key === '.' || key === '..')
    diags.error(keyLoc, at, `config name ${quote(key)} must contain only letters, digits, ".", "_" and "-"`)
  if (node.kind !== 'map') {
    diags.error(node.loc, at, `must be a mapping with a source, got ${describe(node)}; ${SOURCES}`)
    return
  }
  // An external config is an error of its own (keys.ts).
  if (booleanOf(valueOf(node, 'external')) === true) return
  const sources = ['file', 'content', 'environment']
    .map((k) => entryOf(node, k))
    .filter((e): e is Entry => e !== undefined)
    .sort((a, b) => a.keyLoc.line - b.keyLoc.line || a.keyLoc.column - b.keyLoc.column)
  if (sources.length === 0) diags.error(keyLoc, at, `has no source; ${SOURCES}`)
  else if (sources.length > 1) {
    const second = sources[1]!
    diags.error(second.keyLoc, joinPath(at, second.key), `a config has one source, and "${sources[0]!.key}" is set too`)
  }
}

export function checkConfigFile({ node, path: at }: KeyAt, { diags, ctx }: Check): void {
  const file = stringOf(node)
  if (!file) {
    diags.error(node.loc, at, `must be the path of a file of the repository, got ${describe(node)}`)
    return
  }
  const loaded = ctx.repoFiles.get(repoPath(file, ctx.baseDir))
  if (loaded?.problem) diags.error(node.loc, at, `config file ${file}: ${repoFileProblemText(loaded.problem)}`)
}

function tooLarge(bytes: number): string {
  return `is ${bytes} bytes, more than the ${REPO_FILE_LIMIT} bytes (16 KiB) a config may have`
}

export function checkConfigContent({ node, path: at }: KeyAt, { diags }: Check): void {
  const text = stringOf(node)
  if (text === undefined) diags.error(node.loc, at, `must be a string, got ${describe(node)}`)
  else if (Buffer.byteLength(text) > REPO_FILE_LIMIT) diags.error(node.loc, at, tooLarge(Buffer.byteLength(text)))
}

export function checkConfigEnvironment({ node, path: at }: KeyAt, { diags, ctx }: Check): void {
  const name = stringOf(node)
  if (name === undefined || envNameProblem(name)) {
    diags.error(node.loc, at, `must be the name of the variable holding the config, got ${describe(node)}`)
    return
  }
  const value = ctx.lookup(name)
  if (value === undefined) diags.error(node.loc, at, `variable ${name} is not set in the step's environment or in .env`)
  else if (Buffer.byteLength(value) > REPO_FILE_LIMIT)
    diags.error(node.loc, at, `variable ${name} ${tooLarge(Buffer.byteLength(value))}`)
}

export function checkConfigExternal(at: KeyAt, { diags }: Check): void {
  if (booleanOf(at.node) === false) return
  diags.error(at.keyLoc, at.path, `not supported: ${CONFIG_EXTERNAL}`)
}

export const CONFIG_EXTERNAL = 'external configs are not supported: use "file", "content" or "environment"'

// Service configs

/** The path in the container: `target` (under / when relative), else /<source>. */
function configTarget(source: string, target: string | undefined): string {
  return path.posix.resolve('/', target ?? source)
}

/** The path in the container of a service config item, for merging by target; undefined if malformed. */
export function configItemTarget(item: Node): string | undefined {
  const source = isMap(item) ? stringOf(valueOf(item, 'source')) : stringOf(item)
  if (source === undefined) return undefined
  return configTarget(source, isMap(item) ? stringOf(valueOf(item, 'target')) : undefined)
}

export function checkServiceConfigs({ node, path: at, parent, parentPath }: KeyAt, check: Check): void {
  if (node.kind !== 'seq') {
    check.diags.error(
      node.loc,
      at,
      `must be a list of config names or {source, target, mode} mappings, got ${describe(node)}`
    )
    return
  }
  // A config's file would hide a volume's, a bind mount's or a secret's at the same path.
  const taken = secretTargets(parent, parentPath)
  const volumes = valueOf(parent, 'volumes')
  if (isSeq(volumes))
    volumes.items.forEach((item, i) => {
      const mount = readMount(item, '').mount
      if (mount && !taken.has(mount.target)) taken.set(mount.target, joinPath(joinPath(parentPath, 'volumes'), i))
    })
  node.items.forEach((item, i) => {
    const itemPath = joinPath(at, i)
    if (!checkServiceConfig(item, itemPath, check)) return
    const target = configItemTarget(item)!
    const first = taken.get(target)
    if (first) check.diags.error(item.loc, itemPath, `target ${quote(target)} is already used by ${first}`)
    else taken.set(target, itemPath)
  })
}

/** Returns whether the item is valid. */
function checkServiceConfig(item: Node, itemPath: string, check: Check): boolean {
  if (item.kind !== 'map') {
    const source = stringOf(item)
    if (source !== undefined) return checkDeclared({ node: item, path: itemPath, source }, check, CONFIG)
    check.diags.error(
      item.loc,
      itemPath,
      `must be a config name or a {source, target, mode} mapping, got ${describe(item)}`
    )
    return false
  }
  let ok = checkLongFileMount(item, itemPath, check, CONFIG)
  for (const key of ['uid', 'gid']) {
    const entry = entryOf(item, key)
    if (!entry) continue
    const id = integerOf(entry.value)
    if (id === undefined || id < 0) {
      check.diags.error(
        entry.value.loc,
        joinPath(itemPath, key),
        `must be a numeric ${key === 'uid' ? 'user' : 'group'} id, got ${describe(entry.value)}`
      )
      ok = false
    } else
      check.diags.warn(
        entry.keyLoc,
        joinPath(itemPath, key),
        'ignored: the file is owned by root and readable as its mode says'
      )
  }
  return ok
}

const CONFIG: FileMountKind = {
  noun: 'config',
  top: 'configs',
  target: (source, target) => configTarget(source, target)
}

/** The repository files of a service's bind mounts and its configs, sorted by target (absent: none). */
export function serviceFilesOf(service: MapNode | undefined, ctx: StageContext): { files?: ServiceFile[] } {
  if (!service) return {}
  const files: ServiceFile[] = []
  for (const mount of mountsOf(service)) {
    if (mount.kind !== 'bind') continue
    const file = ctx.repoFiles.get(repoPath(mount.source, ctx.baseDir))!
    files.push({
      target: mount.target,
      mode: modeText(0o444),
      content: file.content!,
      source: file.display,
      location: mount.sourceLoc
    })
  }
  const list = valueOf(service, 'configs')
  const declared = valueOf(ctx.root, 'configs') as MapNode
  for (const item of isSeq(list) ? list.items : []) {
    const long = isMap(item) ? item : undefined
    const name = (long ? stringOf(valueOf(long, 'source')) : stringOf(item))!
    const modeNode = long ? valueOf(long, 'mode') : undefined
    files.push({
      target: configItemTarget(item)!,
      mode: modeText(modeNode ? fileModeOf(modeNode)! : DEFAULT_SECRET_MODE),
      content: configContentOf(valueOf(declared, name) as MapNode, ctx),
      source: `config ${name}`,
      location: item.loc
    })
  }
  files.sort((a, b) => compare(a.target, b.target))
  return files.length > 0 ? { files } : {}
}

function configContentOf(declaration: MapNode, ctx: StageContext): string {
  const file = stringOf(valueOf(declaration, 'file'))
  if (file !== undefined) return ctx.repoFiles.get(repoPath(file, ctx.baseDir))?.content ?? packFile(new Uint8Array())
  const content = stringOf(valueOf(declaration, 'content'))
  const text = content ?? ctx.lookup(stringOf(valueOf(declaration, 'environment')) ?? '') ?? ''
  return packFile(Buffer.from(text, 'utf8'))
}

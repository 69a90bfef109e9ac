/**
 * Stage 1: read one compose file and turn its YAML into a located tree.
 * Reports unreadable files, YAML syntax errors, duplicate keys, several
 * documents and a top level that is not a mapping, each with a position.
 */
import { readFile } from 'node:fs/promises'
import * as path from 'node:path'
import {
  type Document,
  isAlias,
  isMap as isYamlMap,
  isScalar as isYamlScalar,
  isSeq as isYamlSeq,
  LineCounter,
  parseAllDocuments,
  type Pair,
  type YAMLError,
  type YAMLMap,
  type YAMLSeq
} from 'yaml'
import type { Diagnostic, SourceLocation } from './model.js'
import {
  describe,
  Diagnostics,
  type Entry,
  joinPath,
  type MapNode,
  type Node,
  quote,
  scalar,
  type ScalarValue
} from './tree.js'

/** Path shown for problems with the file itself and with its YAML syntax. */
export const FILE_PATH = '(file)'
export const YAML_PATH = '(yaml)'
/** Aliases can expand a small file into a huge tree; stop well before that hurts. */
export const MAX_NODES = 100_000

export interface ParsedFile {
  /** The path as the user gave it. */
  file: string
  absolutePath: string
  root?: MapNode
  diagnostics: Diagnostic[]
}

export function resolveFile(file: string, workspace: string): string {
  return path.isAbsolute(file) ? file : path.resolve(workspace, file)
}

/** Reads and parses one compose file; never throws. */
export async function parseFile(options: { file: string; workspace: string }): Promise<ParsedFile> {
  const absolutePath = resolveFile(options.file, options.workspace)
  const read = await readText(absolutePath)
  if (typeof read !== 'string') {
    const loc = { file: options.file, line: 1, column: 1 }
    return { file: options.file, absolutePath, diagnostics: [fileError(loc, read)] }
  }
  return { file: options.file, absolutePath, ...parseYaml(read, options.file) }
}

async function readText(absolutePath: string): Promise<string | NodeJS.ErrnoException> {
  try {
    return await readFile(absolutePath, 'utf8')
  } catch (error) {
    return error as NodeJS.ErrnoException
  }
}

/** The message for a file that cannot be read, at `loc`. */
export function fileError(loc: SourceLocation, error: NodeJS.ErrnoException): Diagnostic {
  return { severity: 'error', ...loc, path: FILE_PATH, message: readProblem(error) }
}

export function readProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'file not found'
    case 'EISDIR':
      return 'is a directory, not a file'
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied'
    default:
      return `cannot be read: ${error.code ?? error.message}`
  }
}

/** Parses YAML text into a located tree, with diagnostics. Pure. */
export function parseYaml(text: string, file: string): { root?: MapNode; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter()
  const docs = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: false })
  const diags = new Diagnostics()
  const at = (offset: number): SourceLocation => ({ file, ...position(lineCounter, offset) })
  const list = Array.isArray(docs) ? docs : []
  const first = list[0]
  if (!first) {
    diags.error(at(0), FILE_PATH, 'the file is empty; expected a mapping with "services"')
    return { diagnostics: diags.list }
  }
  if (list.length > 1) {
    const second = list[1]!
    diags.error(
      at(second.range[0]),
      YAML_PATH,
      `the file has ${list.length} YAML documents; a compose file is a single document`
    )
  }
  const root = yamlErrors(first, { at, diags }) ? undefined : convertRoot(first, { at, diags })
  return root ? { root, diagnostics: diags.list } : { diagnostics: diags.list }
}

function position(lineCounter: LineCounter, offset: number): { line: number; column: number } {
  const pos = lineCounter.linePos(offset)
  return { line: pos.line, column: pos.col }
}

interface Ctx {
  at: (offset: number) => SourceLocation
  diags: Diagnostics
}

/**
 * Reports the document's errors and warnings. Duplicate keys are left to the
 * tree walk, which reports them with their key path, unless the document has
 * other errors and cannot be walked; returns whether it cannot.
 */
function yamlErrors(doc: Document.Parsed, ctx: Ctx): boolean {
  const fatal = doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY')
  const shown = fatal.length > 0 ? doc.errors : []
  for (const e of shown) ctx.diags.error(ctx.at(e.pos[0]), YAML_PATH, yamlMessage(e))
  for (const w of doc.warnings) ctx.diags.warn(ctx.at(w.pos[0]), YAML_PATH, `YAML: ${w.message}`)
  return fatal.length > 0
}

function yamlMessage(e: YAMLError): string {
  if (e.code === 'DUPLICATE_KEY') return 'duplicate key: keys in a mapping must be unique'
  return `YAML syntax: ${e.message}`
}

function convertRoot(doc: Document.Parsed, ctx: Ctx): MapNode | undefined {
  const contents = doc.contents
  if (contents === null || (isYamlScalar(contents) && contents.value === null)) {
    ctx.diags.error(ctx.at(doc.range[0]), FILE_PATH, 'the file is empty; expected a mapping with "services"')
    return undefined
  }
  const walker = new Walker(doc, ctx)
  const root = walker.node(contents, '')
  if (root.kind !== 'map') {
    ctx.diags.error(root.loc, YAML_PATH, `the top level must be a mapping with "services", got ${describe(root)}`)
    return undefined
  }
  return walker.overflow ? undefined : root
}

type YamlNode = unknown

/** Converts YAML nodes to located nodes, resolving aliases and `<<` merge keys. */
class Walker {
  private count = 0
  /** The collections being walked: an alias to one of them would never end. */
  private readonly ancestors = new Set<unknown>()
  overflow = false

  constructor(
    private readonly doc: Document.Parsed,
    private readonly ctx: Ctx
  ) {}

  node(yaml: YamlNode, path: string): Node {
    const loc = this.loc(yaml)
    if (++this.count > MAX_NODES) return this.tooMany(loc)
    if (isAlias(yaml)) return this.alias(yaml, path)
    if (isYamlScalar(yaml)) {
      const node = scalar(scalarValue(yaml.value), loc)
      return typeof node.value === 'number' && yaml.source !== undefined ? { ...node, source: yaml.source } : node
    }
    if (!isYamlMap(yaml) && !isYamlSeq(yaml)) return scalar(null, loc)
    this.ancestors.add(yaml)
    const node = this.collection(yaml, { path, loc })
    this.ancestors.delete(yaml)
    return node
  }

  private collection(yaml: YAMLMap | YAMLSeq, at: { path: string; loc: SourceLocation }): Node {
    if (isYamlMap(yaml)) return { kind: 'map', entries: this.entries(yaml.items as Pair[], at.path), loc: at.loc }
    return { kind: 'seq', items: yaml.items.map((item, i) => this.node(item, joinPath(at.path, i))), loc: at.loc }
  }

  loc(yaml: YamlNode): SourceLocation {
    const range = (yaml as { range?: [number, number, number] } | null)?.range
    return this.ctx.at(range ? range[0] : 0)
  }

  private tooMany(loc: SourceLocation): Node {
    if (!this.overflow)
      this.ctx.diags.error(loc, YAML_PATH, `the document expands to more than ${MAX_NODES} values (through aliases?)`)
    this.overflow = true
    return scalar(null, loc)
  }

  private alias(yaml: YamlNode & { source: string; resolve: (doc: Document.Parsed) => unknown }, path: string): Node {
    const target = yaml.resolve(this.doc)
    const loc = this.loc(yaml)
    if (target === undefined) {
      this.ctx.diags.error(loc, path || YAML_PATH, `unknown alias *${yaml.source}`)
      return scalar(null, loc)
    }
    if (this.ancestors.has(target)) {
      this.ctx.diags.error(loc, path || YAML_PATH, `alias *${yaml.source} refers to a mapping or list that contains it`)
      return scalar(null, loc)
    }
    return this.node(target, path)
  }

  private entries(pairs: Pair[], path: string): Entry[] {
    const own: Entry[] = []
    const merged: Entry[] = []
    for (const pair of pairs) {
      if (isMergeKey(pair.key)) merged.push(...this.mergeEntries(pair.value, path))
      else this.addEntry(own, this.entry(pair, path), path)
    }
    for (const entry of merged) if (!own.some((e) => e.key === entry.key)) own.push(entry)
    return own
  }

  private addEntry(entries: Entry[], entry: Entry, path: string): void {
    const first = entries.find((e) => e.key === entry.key)
    if (!first) {
      entries.push(entry)
      return
    }
    const message = `duplicate key ${quote(entry.key)}: it is already set at line ${first.keyLoc.line}`
    this.ctx.diags.error(entry.keyLoc, joinPath(path, entry.key), message)
  }

  private entry(pair: Pair, path: string): Entry {
    const key = keyText(pair.key)
    const keyLoc = this.loc(pair.key)
    const value = isEmptyValue(pair.value) ? scalar(null, keyLoc) : this.node(pair.value, joinPath(path, key))
    return { key, keyLoc, value }
  }

  /** `<<: *base` or `<<: [*a, *b]`: earlier sources win, own keys win over all. */
  private mergeEntries(value: unknown, path: string): Entry[] {
    const sources = isYamlSeq(value) ? value.items : [value]
    const result: Entry[] = []
    for (const source of sources) {
      const node = this.node(source, path)
      if (node.kind !== 'map') {
        this.ctx.diags.error(
          node.loc,
          joinPath(path, '<<'),
          'a merge key (<<) must refer to a mapping or a list of mappings'
        )
        continue
      }
      for (const e of node.entries) if (!result.some((r) => r.key === e.key)) result.push(e)
    }
    return result
  }
}

function isMergeKey(key: unknown): boolean {
  return isYamlScalar(key) && (typeof key.value === 'symbol' || (key.source === '<<' && key.type === 'PLAIN'))
}

function isEmptyValue(value: unknown): boolean {
  return value === null || value === undefined || (isYamlScalar(value) && value.value === null && value.source === '')
}

function keyText(key: unknown): string {
  if (isYamlScalar(key)) return key.value === null ? '' : String(key.value)
  return String(key)
}

function scalarValue(value: unknown): ScalarValue {
  if (value === null || value === undefined) return null
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  return String(value)
}

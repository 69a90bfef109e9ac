/**
 * Files in the dotenv format: the project's `.env` (beside the first compose
 * file; its values feed interpolation, the environment wins over it) and the
 * services' `env_file` entries (values taken as written: Compose does not
 * interpolate them).
 */
import { readFile } from 'node:fs/promises'
import * as path from 'node:path'
import { parseDotenv, type DotenvEntry } from './dotenv.js'
import { interpolateString, type Lookup, unsetMessage } from './interpolate.js'
import type { Diagnostic, SourceLocation } from './model.js'
import { readProblem } from './parse.js'
import { diagnostic, isMap, isScalar, isSeq, type MapNode, type Node, valueOf } from './tree.js'

export const DOTENV_PATH = '(.env)'
export const ENV_FILE_PATH = '(env_file)'

export interface EnvFile {
  /** The path shown in messages: relative to the workspace. */
  display: string
  entries: DotenvEntry[]
  /** Why it could not be read, if it could not. */
  problem?: string
  diagnostics: Diagnostic[]
}

/** The path as shown in messages: relative to the workspace, with forward slashes. */
export function displayPath(absolutePath: string, workspace: string): string {
  const relative = path.relative(workspace, absolutePath)
  return (relative === '' ? path.basename(absolutePath) : relative).split(path.sep).join('/')
}

async function readDotenvFile(options: {
  absolutePath: string
  workspace: string
  template: boolean
  pseudoPath: string
}): Promise<EnvFile> {
  const display = displayPath(options.absolutePath, options.workspace)
  let text: string
  try {
    text = await readFile(options.absolutePath, 'utf8')
  } catch (error) {
    return { display, entries: [], problem: readProblem(error as NodeJS.ErrnoException), diagnostics: [] }
  }
  const parsed = parseDotenv(text, { template: options.template })
  const diagnostics = parsed.problems.map((p) =>
    diagnostic({ loc: { file: display, line: p.line, column: p.column }, path: options.pseudoPath, message: p.message })
  )
  return { display, entries: parsed.entries, diagnostics }
}

export interface ProjectEnv {
  lookup: Lookup
  diagnostics: Diagnostic[]
}

/** The variables for interpolation: `env` over the `.env` file in `dir` (if there is one). */
export async function loadProjectEnv(options: {
  dir: string
  workspace: string
  env: Record<string, string | undefined>
}): Promise<ProjectEnv> {
  const absolutePath = path.join(options.dir, '.env')
  const file = await readDotenvFile({
    absolutePath,
    workspace: options.workspace,
    template: true,
    pseudoPath: DOTENV_PATH
  })
  const fromEnv: Lookup = (name) => options.env[name]
  const diagnostics = [...file.diagnostics]
  if (file.problem && file.problem !== 'file not found') {
    diagnostics.push(
      diagnostic({ loc: { file: file.display, line: 1, column: 1 }, path: DOTENV_PATH, message: file.problem })
    )
  }
  const values = resolveDotenv(file, { lookup: fromEnv, diagnostics })
  return { lookup: (name) => options.env[name] ?? values.get(name), diagnostics }
}

/** `.env` values in order, each interpolated with the environment and the values before it. */
function resolveDotenv(file: EnvFile, ctx: { lookup: Lookup; diagnostics: Diagnostic[] }): Map<string, string> {
  const values = new Map<string, string>()
  const lookup: Lookup = (name) => ctx.lookup(name) ?? values.get(name)
  for (const entry of file.entries) {
    const loc = { file: file.display, line: entry.line, column: entry.column }
    const value = dotenvValue(entry, { lookup, loc, diagnostics: ctx.diagnostics })
    if (value !== undefined) values.set(entry.key, value)
  }
  return values
}

function dotenvValue(
  entry: DotenvEntry,
  ctx: { lookup: Lookup; loc: SourceLocation; diagnostics: Diagnostic[] }
): string | undefined {
  if (entry.value === undefined) return ctx.lookup(entry.key)
  if (entry.literal) return entry.value
  const result = interpolateString(entry.value, ctx.lookup)
  for (const name of new Set(result.unset)) {
    ctx.diagnostics.push(
      diagnostic({ loc: ctx.loc, path: entry.key, message: unsetMessage(name), severity: 'warning' })
    )
  }
  if (result.error !== undefined)
    ctx.diagnostics.push(diagnostic({ loc: ctx.loc, path: entry.key, message: result.error }))
  return result.value
}

/** The env files a (not yet validated) tree refers to, as absolute paths. */
export function envFilePaths(root: MapNode, baseDir: string): string[] {
  const services = valueOf(root, 'services')
  if (!isMap(services)) return []
  const paths = new Set<string>()
  for (const service of services.entries) {
    if (!isMap(service.value)) continue
    const envFile = valueOf(service.value, 'env_file')
    const items = isSeq(envFile) ? envFile.items : envFile ? [envFile] : []
    for (const item of items) {
      const file = envFileItemPath(item)
      if (file !== undefined) paths.add(path.resolve(baseDir, file))
    }
  }
  return [...paths]
}

/** The path of an `env_file` item, short (`a.env`) or long (`{path: a.env}`) form. */
export function envFileItemPath(item: Node): string | undefined {
  if (isScalar(item)) return typeof item.value === 'string' ? item.value : undefined
  if (!isMap(item)) return undefined
  const value = valueOf(item, 'path')
  return isScalar(value) && typeof value.value === 'string' ? value.value : undefined
}

/** Reads the env files once each; validation and normalisation share the result. */
export async function loadEnvFiles(paths: readonly string[], workspace: string): Promise<Map<string, EnvFile>> {
  const files = await Promise.all(
    paths.map((absolutePath) => readDotenvFile({ absolutePath, workspace, template: false, pseudoPath: ENV_FILE_PATH }))
  )
  return new Map(paths.map((p, i) => [p, files[i]!]))
}

/**
 * Loading compose files in stages: (1) parse each file, (2) interpolate its
 * values (with the environment over the `.env` beside the first file), (3)
 * merge the files in order, (4) validate the result and (5) normalise it to
 * the typed model. Merge, validation and normalisation follow the key table
 * (keys.ts). Every problem is collected, with file, line, column and key path.
 */
import * as path from 'node:path'
import { buildPaths, loadBuildPaths } from './build.js'
import { configFilePaths } from './configs.js'
import { envFilePaths, loadEnvFiles, loadProjectEnv } from './envfile.js'
import { loadRepoFiles } from './files.js'
import { interpolateTree } from './interpolate.js'
import { mergeFiles } from './merge.js'
import type { Diagnostic, LoadResult } from './model.js'
import { normalize } from './normalize.js'
import { FILE_PATH, parseFile } from './parse.js'
import { loadSecretFiles, secretFilePaths } from './secrets.js'
import type { MapNode } from './tree.js'
import { validate } from './validate.js'
import { bindPaths } from './volumes.js'

export { formatDiagnostic } from './model.js'
export type {
  ComposeModel,
  Diagnostic,
  LoadResult,
  ServiceModel,
  ServiceSecret,
  ServiceVolume,
  ServiceFile,
  ServiceBuild,
  BuildSecret,
  VolumeModel,
  VolumeType,
  ServiceLogging,
  Reference,
  PortMapping,
  ExposedPort,
  SourceLocation
} from './model.js'
export { COMPOSE_KEYS } from './keys.js'
export type { KeyRule, MergeRule } from './keys.js'

export interface LoadOptions {
  /** Compose files as the user gave them: relative to `workspace`, or absolute; merged in order. */
  files: string[]
  workspace: string
  /** Variables for interpolation; they win over the `.env` file. */
  env: Record<string, string | undefined>
}

export async function loadCompose(options: LoadOptions): Promise<LoadResult> {
  const first = options.files[0]
  if (first === undefined) {
    const error: Diagnostic = {
      severity: 'error',
      file: '',
      line: 1,
      column: 1,
      path: FILE_PATH,
      message: 'no compose file given'
    }
    return { ok: false, errors: [error], warnings: [] }
  }
  const diagnostics: Diagnostic[] = []
  const parsed = await Promise.all(options.files.map((file) => parseFile({ file, workspace: options.workspace })))
  for (const p of parsed) diagnostics.push(...p.diagnostics)
  const baseDir = path.dirname(parsed[0]!.absolutePath)
  const projectEnv = await loadProjectEnv({ dir: baseDir, workspace: options.workspace, env: options.env })
  diagnostics.push(...projectEnv.diagnostics)
  const roots: MapNode[] = []
  const failed = new Set<string>()
  for (const p of parsed) {
    if (!p.root) continue
    const interpolated = interpolateTree(p.root, projectEnv.lookup)
    diagnostics.push(...interpolated.diagnostics.list)
    for (const d of interpolated.diagnostics.errors) failed.add(d.path)
    roots.push(interpolated.root)
  }
  const merged = roots.length === parsed.length ? mergeFiles(roots) : undefined
  if (!merged) return finish({ diagnostics, files: options.files })
  const envFiles = await loadEnvFiles(envFilePaths(merged, baseDir), options.workspace)
  for (const file of envFiles.values()) diagnostics.push(...file.diagnostics)
  const secretFiles = await loadSecretFiles(secretFilePaths(merged, baseDir), options.workspace)
  const repoPaths = [...new Set([...bindPaths(merged, baseDir), ...configFilePaths(merged, baseDir)])]
  const repoFiles = await loadRepoFiles(repoPaths, options.workspace)
  const builds = await loadBuildPaths(buildPaths(merged, baseDir), options.workspace)
  const context = {
    lookup: projectEnv.lookup,
    envFiles,
    baseDir,
    secretFiles,
    repoFiles,
    buildPaths: builds,
    root: merged
  }
  diagnostics.push(...validate(merged, context).filter((d) => !underFailed(d.path, failed)))
  if (diagnostics.some((d) => d.severity === 'error')) return finish({ diagnostics, files: options.files })
  const model = normalize(merged, { ...context, files: [...options.files] })
  return { ok: true, model, warnings: sortDiagnostics(diagnostics, options.files) }
}

/** A value whose interpolation failed is reported once, not again by validation. */
function underFailed(path: string, failed: ReadonlySet<string>): boolean {
  for (const f of failed) if (path === f || path.startsWith(`${f}.`) || path.startsWith(`${f}[`)) return true
  return false
}

function finish(state: { diagnostics: Diagnostic[]; files: string[] }): LoadResult {
  const sorted = sortDiagnostics(state.diagnostics, state.files)
  return {
    ok: false,
    errors: sorted.filter((d) => d.severity === 'error'),
    warnings: sorted.filter((d) => d.severity === 'warning')
  }
}

/** By compose file (in merge order, other files after), then line and column. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[], files: readonly string[]): Diagnostic[] {
  const rank = (file: string): number => {
    const i = files.indexOf(file)
    return i < 0 ? files.length : i
  }
  return [...diagnostics].sort(
    (a, b) => rank(a.file) - rank(b.file) || a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column
  )
}

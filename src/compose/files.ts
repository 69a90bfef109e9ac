/**
 * Repository files shipped with a service's configuration: the files of bind
 * mounts and of compose configs' `file:`. Each is read when the action runs,
 * gzip-compressed and base64-encoded, as the agent takes it. Only regular files
 * inside the repository (the workspace, symlinks resolved) of at most
 * REPO_FILE_LIMIT bytes are shipped: the configuration is stored in SSM, and a
 * directory or a large file is better a named volume or part of the image.
 */
import { readFile, realpath, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import * as path from 'node:path'
import { gzipSync } from 'node:zlib'
import { displayPath } from './envfile.js'
import { readProblem } from './parse.js'

/** Bytes before compression: the configuration of a service must fit in one SSM parameter with the others. */
export const REPO_FILE_LIMIT = 16384

/** A repository file as read when the action runs: its content, or why it cannot be shipped. */
export interface RepoFile {
  /** Relative to the workspace, for messages and the model's `source`. */
  display: string
  /** gzip, then base64. */
  content?: string
  problem?: RepoFileProblem
}

export type RepoFileProblem =
  | { kind: 'missing' | 'directory' | 'outside' | 'special' }
  | { kind: 'unreadable'; text: string }
  | { kind: 'large'; size: number }

/** The absolute path a bind source or config file names: `~` is the runner's home, others relative to baseDir. */
export function repoPath(source: string, baseDir: string): string {
  if (source === '~' || source.startsWith('~/')) return path.join(homedir(), source.slice(1))
  return path.resolve(baseDir, source)
}

/** Why the file cannot be shipped, as a message's end. */
export function repoFileProblemText(problem: RepoFileProblem): string {
  switch (problem.kind) {
    case 'missing':
      return 'file not found (paths are relative to the first compose file)'
    case 'directory':
      return 'only files of the repository can be shipped (a directory is not)'
    case 'outside':
      return 'only files of the repository can be shipped (it resolves outside the repository)'
    case 'special':
      return 'only regular files of the repository can be shipped'
    case 'unreadable':
      return problem.text
    case 'large':
      return `is ${problem.size} bytes, more than the ${REPO_FILE_LIMIT} bytes (16 KiB) a shipped file may have`
  }
}

export async function loadRepoFiles(paths: readonly string[], workspace: string): Promise<Map<string, RepoFile>> {
  // The workspace itself may be reached through a symlink (a temporary directory on macOS).
  const root = await realpath(workspace).catch(() => path.resolve(workspace))
  const files = await Promise.all(paths.map((p) => readRepoFile(p, { workspace, root })))
  return new Map(paths.map((p, i) => [p, files[i]!]))
}

async function readRepoFile(absolutePath: string, at: { workspace: string; root: string }): Promise<RepoFile> {
  const display = displayPath(absolutePath, at.workspace)
  const failed = (error: unknown): RepoFile => {
    const e = error as NodeJS.ErrnoException
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return { display, problem: { kind: 'missing' } }
    return { display, problem: { kind: 'unreadable', text: readProblem(e) } }
  }
  try {
    // realpath resolves `..` and every symlink on the way: what is read is what is checked.
    const real = await realpath(absolutePath)
    const relative = path.relative(at.root, real)
    // The workspace itself ('') is a directory, which stat reports below.
    if (relative.startsWith('..') || path.isAbsolute(relative)) return { display, problem: { kind: 'outside' } }
    // Size first: a path to a large file by mistake is not read into memory.
    const info = await stat(real)
    if (info.isDirectory()) return { display, problem: { kind: 'directory' } }
    if (!info.isFile()) return { display, problem: { kind: 'special' } }
    if (info.size > REPO_FILE_LIMIT) return { display, problem: { kind: 'large', size: info.size } }
    const bytes = await readFile(real)
    if (bytes.length > REPO_FILE_LIMIT) return { display, problem: { kind: 'large', size: bytes.length } }
    return { display, content: packFile(bytes) }
  } catch (error) {
    return failed(error)
  }
}

/** As the agent takes a file: gzip (whose output has no timestamp from Node), then base64. */
export function packFile(bytes: Uint8Array): string {
  return gzipSync(bytes).toString('base64')
}

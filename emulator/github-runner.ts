/**
 * A local stand-in for the GitHub runner: runs the bundled action as GitHub does,
 * `node dist/index.js` with INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files,
 * on the Node that action.yml's `runs.using` names, whatever Node runs the caller.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { actionBinary } from './core/runtimes.js'

export const ACTION = fileURLToPath(new URL('../dist/index.js', import.meta.url))

export interface ActionRun {
  code: number
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
}

export interface RunOptions {
  inputs: Record<string, string>
  /** Workspace directory (GITHUB_WORKSPACE and cwd). */
  workspace: string
  /** Extra environment (AWS_ENDPOINT_URL, GITHUB_EVENT_*, ...). */
  env?: Record<string, string>
  /** Kill the process when this returns true for a line of its output. */
  killWhen?: (line: string) => boolean
  /** Kill the process (SIGKILL, as a runner losing its machine) when this signal aborts. */
  signal?: AbortSignal
  /** Copy the action's output to this process's stdout as it comes (the demo). */
  echo?: boolean
  /**
   * Keep V8's compiled code of the bundle between runs (NODE_COMPILE_CACHE), default true: a run
   * starts about a third of a second sooner, which adds up over the hundreds of runs the tests
   * make. GitHub starts each step without it, so timings that stand for GitHub's turn it off.
   */
  compileCache?: boolean
}

const COMPILE_CACHE = path.join(tmpdir(), 'hyperform-node-compile-cache')

/** Parses the GITHUB_OUTPUT file format (name<<delimiter ... delimiter). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '')
    if (!match) continue
    const [, name, delimiter] = match
    const value: string[] = []
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '')
    outputs[name!] = value.join('\n')
  }
  return outputs
}

function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]))
}

/** The environment GitHub gives a step, without anything from this process that could leak in. */
function baseEnv(workspace: string, files: { output: string; summary: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_REPOSITORY: 'octo-org/shop',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    AWS_ACCESS_KEY_ID: 'AKIAHYPERFORMTEST',
    AWS_SECRET_ACCESS_KEY: 'hyperform-test-secret',
    AWS_EC2_METADATA_DISABLED: 'true'
  }
}

export function runAction(options: RunOptions): Promise<ActionRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-run-'))
  const files = { output: path.join(dir, 'output'), summary: path.join(dir, 'summary') }
  writeFileSync(files.output, '')
  writeFileSync(files.summary, '')
  const cache = options.compileCache === false ? {} : { NODE_COMPILE_CACHE: COMPILE_CACHE }
  const env = { ...baseEnv(options.workspace, files), ...cache, ...inputEnv(options.inputs), ...options.env }
  const child = spawn(actionBinary(), [ACTION], { cwd: options.workspace, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const kill = (): void => {
    child.kill('SIGKILL')
  }
  if (options.signal?.aborted) kill()
  else options.signal?.addEventListener('abort', kill, { once: true })
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    if (options.echo) process.stdout.write(chunk)
    if (options.killWhen && stdout.split('\n').some(options.killWhen)) child.kill('SIGKILL')
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', kill)
      resolve({
        code: code ?? (signal ? 137 : 1),
        stdout,
        stderr,
        outputs: parseOutputFile(readFileSync(files.output, 'utf8')),
        summary: readFileSync(files.summary, 'utf8')
      })
    })
  })
}

/** A fresh workspace directory holding the given files. */
export function workspaceWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-ws-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

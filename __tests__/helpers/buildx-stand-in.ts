/** Puts the runner's docker stand-in (buildx-stand-in-cli.mjs) first on PATH in a temporary bin directory, and reads what it recorded. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('./buildx-stand-in-cli.mjs', import.meta.url))

/** One docker invocation as the stand-in recorded it. */
export interface BuildxCall {
  argv: string[]
  login?: { user: string; host: string; passwordFromStdin: boolean }
  build?: { context: string; tags: string[]; platform?: string; args: string[] }
}

export interface BuildxStandIn {
  /** The step's environment: PATH with the stand-in first, and its log. */
  env: Record<string, string>
  calls(): BuildxCall[]
  builds(): Array<NonNullable<BuildxCall['build']>>
}

export function buildxStandIn(dir: string): BuildxStandIn {
  const bin = path.join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
  writeFileSync(path.join(bin, 'docker'), `#!/bin/bash\nexec ${quote(process.execPath)} ${quote(CLI)} "$@"\n`)
  chmodSync(path.join(bin, 'docker'), 0o755)
  const log = path.join(dir, 'docker.jsonl')
  const calls = (): BuildxCall[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as BuildxCall)
      : []
  return {
    env: { PATH: `${bin}:${process.env.PATH ?? ''}`, DOCKER_STANDIN_LOG: log },
    calls,
    builds: () => calls().flatMap((c) => (c.build ? [c.build] : []))
  }
}

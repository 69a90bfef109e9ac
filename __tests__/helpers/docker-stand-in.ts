/** Puts the docker stand-in (docker-stand-in-cli.mjs) behind a `docker` command in a temporary bin directory, and reads what it recorded. */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('./docker-stand-in-cli.mjs', import.meta.url))

export interface StandInImage {
  image: string
  pull?: 'ok' | 'denied'
  run?: 'healthy' | 'unhealthy' | 'crash'
  logs?: string[]
  /** What `docker inspect` answers in turn, the last one from then on (each field replacing what `run` says). */
  states?: InspectState[]
}

export interface InspectState {
  State?: {
    Status?: string
    Running?: boolean
    Restarting?: boolean
    ExitCode?: number
    Health?: { Status: string; Log?: { Output: string; ExitCode?: number }[] }
  }
  RestartCount?: number
  Config?: {
    Image?: string
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number }
  }
}

/** One docker invocation as the stand-in recorded it. */
export interface DockerCall {
  argv: string[]
  global: string[]
  command: string
  args: string[]
  exit: number
  run?: { options: ([string] | [string, string])[]; image: string; rest: string[] }
  env?: Record<string, string | null>
  login?: { user: string; host: string; passwordFromStdin: boolean }
}

export interface DockerStandIn {
  /** A directory holding `docker`, to put first on PATH. */
  bin: string
  /** The environment the stand-in reads (merge into the agent's). */
  env: Record<string, string>
  calls(): DockerCall[]
}

export function dockerStandIn(dir: string, images: StandInImage[] = []): DockerStandIn {
  const bin = path.join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`
  // bash, not sh: dash drops environment variables whose names are not identifiers (`dotted.name`).
  writeFileSync(path.join(bin, 'docker'), `#!/bin/bash\nexec ${quote(process.execPath)} ${quote(CLI)} "$@"\n`)
  chmodSync(path.join(bin, 'docker'), 0o755)
  const log = path.join(dir, 'docker.jsonl')
  return {
    bin,
    env: { DOCKER_STANDIN_LOG: log, DOCKER_STANDIN_IMAGES: JSON.stringify(images) },
    calls: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as DockerCall)
        : []
  }
}

/**
 * Images from source, measured with the runner's docker stand-in (it registers what it "pushes"
 * through ECR's PutImage): a first deploy that builds `web`, a re-run with nothing changed, a change
 * outside the build context, and a change inside it. Figures per phase: builds run, wall time,
 * reads, writes and ECR calls.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startEmulator } from '../emulator/server.js'
import { buildxStandIn } from '../__tests__/helpers/buildx-stand-in.js'
import { runPhase, writeCompose } from './scenario.js'

const COMPOSE = `services:
  web:
    build:
      context: ./app
      args:
        GREETING: hi
    deploy:
      replicas: 2
`

export interface BuildPhase {
  phase: string
  ok: boolean
  builds: number
  wallMs: number
  reads: number
  writes: number
  ecrCalls: number
}

export interface BuildFigures {
  phases: BuildPhase[]
}

export async function buildBench(log: (line: string) => void): Promise<BuildFigures> {
  const emu = await startEmulator({ simulation: { launchDelayMs: 200, terminateDelayMs: 200 } })
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-builds-'))
  const workspace = path.join(dir, 'repo')
  const docker = buildxStandIn(dir)
  const phases: BuildPhase[] = []
  const run = async (phase: string): Promise<void> => {
    await emu.waitIdle()
    const before = docker.builds().length
    const f = await runPhase(emu, { workspace, stack: 'st-builds', command: 'deploy', wait: true, env: docker.env })
    const ecrCalls = f.calls.filter((c) => c.service === 'ecr').length
    const builds = docker.builds().length - before
    phases.push({ phase, ok: f.ok, builds, wallMs: f.wallMs, reads: f.reads, writes: f.writes, ecrCalls })
    log(`  ${phase}: ${f.ok ? 'ok' : 'FAILED'} in ${Math.round(f.wallMs)} ms, ${builds} builds, ${f.writes} writes`)
    if (!f.ok) throw new Error(`${phase} failed:\n${f.failure ?? ''}`)
  }
  try {
    mkdirSync(path.join(workspace, 'app'), { recursive: true })
    writeCompose(workspace, COMPOSE)
    writeFileSync(
      path.join(workspace, 'app', 'Dockerfile'),
      'FROM nginx:1.27\nCOPY index.html /usr/share/nginx/html/\n'
    )
    writeFileSync(path.join(workspace, 'app', 'index.html'), '<h1>hello</h1>\n')
    await run('first deploy (repository made, web built and pushed)')
    await run('re-run, nothing changed')
    writeFileSync(path.join(workspace, 'README.md'), '# changed outside the context\n')
    await run('a change outside the context')
    writeFileSync(path.join(workspace, 'app', 'index.html'), '<h1>hello again</h1>\n')
    await run('a change inside the context (web rebuilt and rolled)')
    return { phases }
  } finally {
    await emu.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

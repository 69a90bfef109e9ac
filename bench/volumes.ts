/**
 * Named volumes, measured: the seed example with `db-data:/var/lib/mysql` on db deployed (one
 * volume made, claimed and formatted by the agent stand-in), re-run with nothing changed, the db
 * instance terminated by hand (the time until its replacement has the same volume attached), a
 * destroy that keeps the volume, a redeploy that attaches it again, and a destroy that deletes it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator } from '../emulator/server.js'
import { runPhase, writeCompose, type PhaseInput } from './scenario.js'

const SEED = readFileSync(fileURLToPath(new URL('../examples/wordpress/compose.yaml', import.meta.url)), 'utf8')
const WITH_VOLUME = `${SEED.replace('     image: mysql:5.7\n', '     image: mysql:5.7\n     volumes:\n       - db-data:/var/lib/mysql\n')}
volumes:
  db-data:
`
/** EBS calls of the action (the agents' attaches are the instances' own). */
const EBS = new Set(['CreateVolume', 'DescribeVolumes', 'DeleteVolume', 'CreateSnapshot'])

export interface VolumePhase {
  phase: string
  ok: boolean
  wallMs: number
  reads: number
  writes: number
  ebsCalls: number
}

export interface VolumeFigures {
  phases: VolumePhase[]
  /** db terminated by hand -> its replacement has the same volume attached. */
  reattachMs: number
  /** The first-use marker stayed the first instance's: the data survived. */
  dataKept: boolean
}

export async function volumeBench(log: (line: string) => void): Promise<VolumeFigures> {
  const emu = await startEmulator({ simulation: { launchDelayMs: 200, terminateDelayMs: 200 } })
  const control = new EmulatorClient(emu.endpoint)
  const workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-volumes-'))
  const phases: VolumePhase[] = []
  const run = async (phase: string, input: Omit<PhaseInput, 'workspace' | 'stack' | 'wait'>): Promise<void> => {
    await emu.waitIdle()
    const f = await runPhase(emu, { workspace, stack: 'st-volumes', wait: true, ...input })
    const ebsCalls = f.calls.filter((c) => EBS.has(c.operation)).length
    phases.push({ phase, ok: f.ok, wallMs: f.wallMs, reads: f.reads, writes: f.writes, ebsCalls })
    log(
      `  ${phase}: ${f.ok ? 'ok' : 'FAILED'} in ${Math.round(f.wallMs)} ms, ${f.writes} writes, ${ebsCalls} EBS calls`
    )
    if (!f.ok) throw new Error(`${phase} failed:\n${f.failure ?? ''}`)
  }
  try {
    writeCompose(workspace, WITH_VOLUME)
    await run('first deploy (one volume made and attached)', { command: 'deploy' })
    await run('re-run, nothing changed', { command: 'deploy' })
    const [volume] = await control.volumes()
    const first = volume?.attachment?.instanceId ?? ''
    const started = Date.now()
    await control.terminateInstance(first)
    let reattachMs = Infinity
    for (let waited = 0; waited < 120_000; waited = Date.now() - started) {
      const now = await control.volume(volume?.volumeId ?? '')
      if (now.attachment?.instanceId && now.attachment.instanceId !== first && now.data.filesystem) {
        reattachMs = Date.now() - started
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const dataKept = (await control.volume(volume?.volumeId ?? '')).data['first-use'] === first
    log(`  db terminated -> same volume attached to its replacement in ${reattachMs} ms (data kept: ${dataKept})`)
    await run('destroy, volumes kept', { command: 'destroy' })
    await run('redeploy (the kept volume attached again)', { command: 'deploy' })
    await run('destroy with volumes-on-destroy: delete', {
      command: 'destroy',
      inputs: { 'volumes-on-destroy': 'delete' }
    })
    return { phases, reattachMs, dataKept }
  } finally {
    await emu.stop()
    rmSync(workspace, { recursive: true, force: true })
  }
}

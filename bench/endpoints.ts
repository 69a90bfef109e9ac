/**
 * Public endpoints, measured: the seed example with wordpress public and a domain, deployed as
 * pull request 7 (the project's load balancer, certificates and the stack's rule made, then
 * waited on until both targets are healthy), re-run with nothing changed, a second pull request
 * on the same load balancer, and both destroyed. Figures per phase: wall time, reads, writes, the
 * load balancer and certificate calls among them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53'
import { startEmulator } from '../emulator/server.js'
import { runAction } from '../emulator/github-runner.js'
import { sdkConfig } from '../emulator/testing.js'
import { ACTION_KEY, actionCalls, OBSERVER_KEY, PROJECT, REGION, writeCompose } from './scenario.js'

const SEED = readFileSync(fileURLToPath(new URL('../examples/wordpress/compose.yaml', import.meta.url)), 'utf8')
const PUBLIC = SEED.replace(
  '     deploy:\n       replicas: 2\n',
  '     deploy:\n       replicas: 2\n       public: true\n'
)
const DOMAIN = 'preview.example.com'

export interface EndpointPhase {
  phase: string
  ok: boolean
  wallMs: number
  reads: number
  writes: number
  /** Elastic Load Balancing and ACM calls among them. */
  elbCalls: number
  acmCalls: number
  urls: string
}

export interface EndpointFigures {
  phases: EndpointPhase[]
}

export async function endpointBench(log: (line: string) => void): Promise<EndpointFigures> {
  const emu = await startEmulator({ simulation: { launchDelayMs: 200, terminateDelayMs: 200 } })
  const route53 = new Route53Client(
    sdkConfig(emu, { region: REGION, credentials: { accessKeyId: OBSERVER_KEY, secretAccessKey: 'x' } })
  )
  const workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-endpoints-'))
  const phases: EndpointPhase[] = []
  const run = async (phase: string, stack: string, command: string): Promise<void> => {
    await emu.waitIdle()
    emu.resetCalls()
    const started = Date.now()
    const result = await runAction({
      inputs: {
        project: PROJECT,
        stack,
        region: REGION,
        'compose-file': 'compose.yaml',
        command,
        domain: DOMAIN,
        wait: 'true',
        'wait-timeout': '600'
      },
      workspace,
      env: { AWS_ENDPOINT_URL: emu.endpoint, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: ACTION_KEY },
      compileCache: false
    })
    const calls = actionCalls(emu.calls())
    const figures: EndpointPhase = {
      phase,
      ok: result.code === 0,
      wallMs: Date.now() - started,
      reads: calls.filter((c) => c.kind === 'read').length,
      writes: calls.filter((c) => c.kind === 'write').length,
      elbCalls: calls.filter((c) => c.service === 'elasticloadbalancing').length,
      acmCalls: calls.filter((c) => c.service === 'acm').length,
      urls: result.outputs.urls ?? ''
    }
    phases.push(figures)
    log(`  ${phase}: ${figures.ok ? 'ok' : 'FAILED'} in ${figures.wallMs} ms, ${figures.writes} writes ${figures.urls}`)
    if (!figures.ok) throw new Error(`${phase} failed:\n${result.stdout.slice(-3000)}`)
  }
  try {
    await route53.send(new CreateHostedZoneCommand({ Name: DOMAIN, CallerReference: 'bench-public-zone' }))
    writeCompose(workspace, PUBLIC)
    await run('first public stack (load balancer, certificates, rule)', 'pr-7', 'deploy')
    await run('re-run, nothing changed', 'pr-7', 'deploy')
    await run('second stack on the same load balancer', 'pr-8', 'deploy')
    await run('destroy of one stack', 'pr-8', 'destroy')
    await run("destroy of the project's last stack", 'pr-7', 'destroy')
    return { phases }
  } finally {
    route53.destroy()
    await emu.stop()
    rmSync(workspace, { recursive: true, force: true })
  }
}

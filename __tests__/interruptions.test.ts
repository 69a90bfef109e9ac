/** The interruptions report: the DNS updater's spot lines counted per service of one stack. */
import { countInterruptions } from '../src/interruptions.js'
import { interruptionsMarkdown } from '../src/report.js'
import type { ServiceReport } from '../src/report.js'

const SCOPE = { project: 'shop', stack: 'prod', region: 'us-east-1' }
const line = (event: string, instance: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({
    event,
    instance,
    service: 'web',
    stack: 'prod',
    project: 'shop',
    at: '2026-12-01T10:00:00Z',
    ...extra
  })

test('each warning, rebalance and reclaim of the stack counts once per service, a line delivered twice once', () => {
  const counted = countInterruptions(
    SCOPE,
    [
      line('spot-interruption-warning', 'i-1'),
      line('spot-interruption-warning', 'i-1'),
      line('spot-reclaim', 'i-1', { at: '2026-12-01T10:02:00Z' }),
      line('rebalance-recommendation', 'i-2'),
      line('spot-interruption-warning', 'i-3', { service: 'api' }),
      `  ${line('spot-interruption-warning', 'i-4')}\n`
    ],
    '2026-11-26T10:00:00.000Z'
  )
  expect(counted).toEqual({
    since: '2026-11-26T10:00:00.000Z',
    services: [
      { service: 'api', warnings: 1, rebalances: 0, reclaims: 0 },
      { service: 'web', warnings: 2, rebalances: 1, reclaims: 1 }
    ]
  })
})

test("another stack's, another project's and lines that are not spot lines are not counted", () => {
  const counted = countInterruptions(
    SCOPE,
    [
      line('spot-interruption-warning', 'i-1', { stack: 'pr-7' }),
      line('spot-interruption-warning', 'i-2', { project: 'other' }),
      'START RequestId: 1 rebalance-recommendation',
      '{"event":"spot-reclaim","instance":"i-5"}',
      line('spot-eaten', 'i-6')
    ],
    '2026-11-26T10:00:00.000Z'
  )
  expect(counted.services).toEqual([])
})

test('the summary shows a table of the counts, "None since" for a spot stack without any, and nothing for a stack without spot', () => {
  const service = (spot: number): ServiceReport =>
    ({ name: 'web', spot, onDemand: 1, image: '', dnsName: '', instances: [], asgs: [], urls: [] }) as ServiceReport
  const since = '2026-11-26T10:00:00.000Z'
  const some = {
    since,
    services: [{ service: 'web', warnings: 2, rebalances: 1, reclaims: 1 }]
  }
  expect(interruptionsMarkdown({ interruptions: some, services: [service(1)] })).toContain('| web | 2 | 1 | 1 |')
  expect(interruptionsMarkdown({ interruptions: { since, services: [] }, services: [service(1)] })).toBe(
    'None since 2026-11-26 10:00 UTC.'
  )
  expect(interruptionsMarkdown({ interruptions: { since, services: [] }, services: [service(0)] })).toBeUndefined()
})

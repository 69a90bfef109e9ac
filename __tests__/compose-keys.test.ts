/**
 * The key table (src/compose/keys.ts) is the one place the compose stages learn about a key:
 * its rule is found by path at any depth, and nothing outside the table passes for a key.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatDiagnostic, loadCompose } from '../src/compose/index.js'
import { COMPOSE_KEYS, ruleAt } from '../src/compose/keys.js'

const workspaces: string[] = []
afterAll(() => {
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true })
})

async function diagnostics(compose: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'hyperform-keys-'))
  workspaces.push(dir)
  writeFileSync(join(dir, 'compose.yaml'), compose)
  const result = await loadCompose({ files: ['compose.yaml'], workspace: dir, env: {} })
  return [...(result.ok ? [] : result.errors), ...result.warnings].map(formatDiagnostic)
}

describe('the compose key table', () => {
  test('a key path finds its rule at any depth, the literal key before the wildcard', () => {
    expect(ruleAt(['services', 'web', 'deploy', 'replicas'])).toBe(COMPOSE_KEYS['services.*.deploy.replicas'])
    expect(ruleAt(['services', 'ports', 'ports'])).toBe(COMPOSE_KEYS['services.*.ports'])
    expect(ruleAt(['services'])).toBe(COMPOSE_KEYS.services)
    expect(ruleAt(['x-common', 'ports'])).toBeUndefined()
    expect(ruleAt(['services', 'web', 'environment', 'PATH'])).toBeUndefined()
  })

  test('every entry sits under an entry of the table, so that the stages can reach it', () => {
    for (const pattern of Object.keys(COMPOSE_KEYS)) {
      const parent = pattern.includes('.') ? pattern.slice(0, pattern.lastIndexOf('.')) : ''
      expect({ pattern, parent: parent === '' || COMPOSE_KEYS[parent]?.level === 'supported' }).toEqual({
        pattern,
        parent: true
      })
    }
  })

  test('keys named like properties of a JavaScript object are not Compose keys', async () => {
    expect(
      await diagnostics(
        'constructor: 1\nservices:\n  web:\n    image: nginx\n    toString: x\n    deploy:\n      __proto__: 2\n'
      )
    ).toEqual([
      'compose.yaml:1:1 constructor: not a Compose key',
      'compose.yaml:5:5 services.web.toString: not a Compose key',
      'compose.yaml:7:7 services.web.deploy.__proto__: not a Compose key'
    ])
  })

  test("the action's extension key is in the table under a service and under a secret, other x- keys are not", () => {
    expect(ruleAt(['services', 'web', 'x-hyperform', 'aws-credentials'])).toBe(
      COMPOSE_KEYS['services.*.x-hyperform.aws-credentials']
    )
    expect(ruleAt(['secrets', 'db', 'x-hyperform', 'from'])).toBe(COMPOSE_KEYS['secrets.*.x-hyperform.from'])
    expect(ruleAt(['services', 'web', 'x-team'])).toBeUndefined()
    expect(ruleAt(['secrets', 'db', 'x-hyperform', 'form'])).toBeUndefined()
  })

  test.each([
    'secrets',
    'secrets.*',
    'secrets.*.file',
    'secrets.*.environment',
    'secrets.*.x-hyperform.from',
    'services.*.secrets',
    'services.*.restart',
    'services.*.stop_signal',
    'services.*.stop_grace_period',
    'services.*.logging',
    'services.*.logging.options',
    'services.*.x-hyperform.aws-credentials'
  ])('%s is supported: validated and read into the model', (pattern) => {
    expect(COMPOSE_KEYS[pattern]?.level).toBe('supported')
  })

  test('a key under x-hyperform is checked even when it starts with x-, and the message names x-hyperform', async () => {
    expect(
      await diagnostics('services:\n  web:\n    image: nginx\n    x-hyperform:\n      x-aws-credentials: true\n')
    ).toEqual([
      'compose.yaml:5:7 services.web.x-hyperform.x-aws-credentials: not a setting of x-hyperform here; expected "aws-credentials", "health-check"'
    ])
  })

  test('a service may be named like a key of the table and is still a service', async () => {
    expect(
      await diagnostics('services:\n  ports:\n    image: nginx\n    ports: ["8000"]\n  image:\n    image: nginx\n')
    ).toEqual([])
  })
})

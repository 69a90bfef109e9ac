/**
 * `healthcheck`: each form of `test` normalised to Docker's list form, durations to milliseconds,
 * `disable` and `NONE`, the errors at file:line with their key path, and merging.
 */
import { agentConfig } from '../src/agent/build.js'
import { ComposeWorkspaces } from './helpers/compose-workspace.js'

const w = new ComposeWorkspaces()
afterAll(() => w.cleanup())

const web = (healthcheck: string): Record<string, string> => ({
  'compose.yaml': `services:\n  web:\n    image: nginx\n    healthcheck:\n${healthcheck}`
})

describe('healthcheck', () => {
  test('absent, the service has no healthcheck: the image decides', async () => {
    const service = await w.service({ files: { 'compose.yaml': 'services:\n  web:\n    image: nginx\n' } })
    expect('healthcheck' in service).toBe(false)
  })

  test('the exec form with every setting: durations in milliseconds, rounded up', async () => {
    const service = await w.service({
      files: web(
        '      test: ["CMD", "curl", "-f", "http://localhost"]\n      interval: 1m30s\n      timeout: 1.5s\n' +
          '      start_period: 500us\n      start_interval: "0"\n      retries: 5\n'
      )
    })
    expect(service.healthcheck).toEqual({
      test: ['CMD', 'curl', '-f', 'http://localhost'],
      intervalMs: 90_000,
      timeoutMs: 1_500,
      startPeriodMs: 1,
      startIntervalMs: 0,
      retries: 5
    })
  })

  test.each([
    [
      'a string is CMD-SHELL',
      '      test: curl -f http://localhost || exit 1\n',
      ['CMD-SHELL', 'curl -f http://localhost || exit 1']
    ],
    ['CMD-SHELL as a list', '      test: ["CMD-SHELL", "pg_isready -U app"]\n', ['CMD-SHELL', 'pg_isready -U app']],
    [
      'numbers are written as strings',
      '      test: [CMD, nc, -z, localhost, 8080]\n',
      ['CMD', 'nc', '-z', 'localhost', '8080']
    ]
  ])('%s', async (_, body, test) => {
    expect((await w.service({ files: web(body) })).healthcheck).toEqual({ test })
  })

  test('an exec-form argument with quotes and $(...) is kept as written ($$ is a $, as interpolation says)', async () => {
    const body = `      test: ["CMD", "/bin/check", "it's \\"quoted\\"", "$$(touch never) \`id\`", "$(date)", "$$HOME"]\n`
    expect((await w.service({ files: web(body) })).healthcheck).toEqual({
      test: ['CMD', '/bin/check', `it's "quoted"`, '$(touch never) `id`', '$(date)', '$HOME']
    })
  })

  test.each([
    ['disable: true', '      disable: true\n      interval: 10s\n'],
    ['disable: "true" (interpolated)', '      disable: "true"\n'],
    ['test ["NONE"]', '      test: ["NONE"]\n      retries: 3\n'],
    ['disable: true with test ["NONE"]', '      test: [NONE]\n      disable: true\n']
  ])('%s disables the check', async (_, body) => {
    expect((await w.service({ files: web(body) })).healthcheck).toEqual({ disable: true })
  })

  test('disable: false changes nothing; settings without a test keep the image command', async () => {
    expect((await w.service({ files: web('      disable: false\n      interval: 5s\n') })).healthcheck).toEqual({
      intervalMs: 5_000
    })
    expect('healthcheck' in (await w.service({ files: web('      disable: false\n') }))).toBe(false)
  })

  test('the agent configuration carries it as the model has it', async () => {
    const service = await w.service({ files: web('      test: ["CMD", "true"]\n      retries: 2\n') })
    const ctx = { region: 'us-east-1', dns: { resolver: '10.0.0.2', search: [] }, logGroup: '/hyperform/p/s' }
    expect(agentConfig(service, ctx).healthcheck).toEqual({ test: ['CMD', 'true'], retries: 2 })
    const disabled = await w.service({ files: web('      disable: true\n') })
    expect(agentConfig(disabled, ctx).healthcheck).toEqual({ disable: true })
    const none = await w.service({ files: { 'compose.yaml': 'services:\n  web:\n    image: nginx\n' } })
    expect('healthcheck' in agentConfig(none, ctx)).toBe(false)
  })

  test.each([
    ['      test: ""\n', '5:13 services.web.healthcheck.test: must not be empty: give the shell command to run'],
    [
      '      test: {cmd: true}\n',
      `5:13 services.web.healthcheck.test: must be a string (run by the container's shell) or a list such as ["CMD", "curl", "-f", "http://localhost"], got a mapping`
    ],
    [
      '      test: []\n',
      '5:13 services.web.healthcheck.test: must not be empty: start it with "CMD", "CMD-SHELL" or "NONE"'
    ],
    [
      '      test: ["curl", "-f", "http://localhost"]\n',
      '5:13 services.web.healthcheck.test: starts with "curl": the first item must be "CMD", "CMD-SHELL" or "NONE"'
    ],
    ['      test: ["CMD"]\n', '5:13 services.web.healthcheck.test: ["CMD", ...] needs the command to run after "CMD"'],
    [
      '      test: ["CMD-SHELL", "a", "b"]\n',
      '5:13 services.web.healthcheck.test: ["CMD-SHELL", command] takes exactly one command string after "CMD-SHELL"'
    ],
    ['      test: ["NONE", "x"]\n', '5:13 services.web.healthcheck.test: ["NONE"] takes nothing after "NONE"'],
    ['      test: ["CMD", [a]]\n', '5:21 services.web.healthcheck.test[1]: must be a string, got a list'],
    [
      '      interval: 10\n',
      '5:17 services.web.healthcheck.interval: must be a duration such as "30s", "1m30s" or "500ms" (units h, m, s, ms, us, ns), got number 10'
    ],
    [
      '      start_interval: "-1s"\n',
      '5:23 services.web.healthcheck.start_interval: must be a duration such as "30s", "1m30s" or "500ms" (units h, m, s, ms, us, ns), got string "-1s"'
    ],
    [
      '      timeout: 3000000h\n',
      '5:16 services.web.healthcheck.timeout: must be a duration such as "30s", "1m30s" or "500ms" (units h, m, s, ms, us, ns), got string "3000000h"'
    ],
    ['      retries: -1\n', '5:16 services.web.healthcheck.retries: -1 is less than 0'],
    ['      retries: 2.5\n', '5:16 services.web.healthcheck.retries: must be an integer, got number 2.5'],
    ['      disable: yes\n', '5:16 services.web.healthcheck.disable: must be true or false, got string "yes"'],
    [
      '      test: ["CMD", "true"]\n      disable: true\n',
      '6:7 services.web.healthcheck.disable: is true while "test" sets a check: remove one of them (test ["NONE"] also disables the check)'
    ],
    ['      intervall: 10s\n', '5:7 services.web.healthcheck.intervall: not a Compose key; did you mean "interval"?']
  ])('%s is an error at its line with its path', async (body, error) => {
    expect(await w.errors({ files: web(body) })).toEqual([`compose.yaml:${error}`])
  })

  test('not a mapping is an error at the value', async () => {
    expect(
      await w.errors({ files: { 'compose.yaml': 'services:\n  web:\n    image: nginx\n    healthcheck: curl\n' } })
    ).toEqual([
      'compose.yaml:4:18 services.web.healthcheck: must be a mapping with "test" and its settings, got string "curl"'
    ])
  })

  test('an override replaces test whole and merges the other keys', async () => {
    const service = await w.service({
      files: {
        'a.yaml':
          'services:\n  web:\n    image: nginx\n    healthcheck:\n      test: ["CMD", "a", "b"]\n      interval: 10s\n',
        'b.yaml': 'services:\n  web:\n    healthcheck:\n      test: ["CMD", "c"]\n      retries: 4\n'
      },
      compose: ['a.yaml', 'b.yaml']
    })
    expect(service.healthcheck).toEqual({ test: ['CMD', 'c'], intervalMs: 10_000, retries: 4 })
  })
})

/**
 * The keys that say how the instance runs the container: restart, stop_signal,
 * stop_grace_period, logging, x-hyperform, and environment values that are references
 * to SSM parameters or Secrets Manager secrets, resolved on the instance.
 */
import { ComposeWorkspaces } from './helpers/compose-workspace.js'

const w = new ComposeWorkspaces()
afterAll(() => w.cleanup())

const web = (body: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'compose.yaml': `services:\n  web:\n    image: nginx\n${body}`,
  ...extra
})

describe('defaults', () => {
  test('a service without these keys restarts always, stops with SIGTERM after 10 s and logs to CloudWatch', async () => {
    expect(await w.service({ files: web('') })).toMatchObject({
      environmentFrom: {},
      secrets: [],
      restart: 'always',
      stopSignal: 'SIGTERM',
      stopGracePeriod: 10,
      logging: { driver: 'awslogs', options: {} },
      awsCredentials: false
    })
  })
})

describe('restart', () => {
  test.each(['no', 'always', 'on-failure', 'on-failure:5', 'unless-stopped'])('%s is the docker policy', async (p) => {
    expect((await w.service({ files: web(`    restart: "${p}"\n`) })).restart).toBe(p)
  })

  test('an unquoted no is the policy no, as YAML 1.2 reads it', async () => {
    expect((await w.service({ files: web('    restart: no\n') })).restart).toBe('no')
  })

  test.each([
    ['sometimes', 'got string "sometimes"'],
    ['on-failure:x', 'got string "on-failure:x"'],
    ['false', 'got boolean false (quote "no")']
  ])('%s is an error at the value', async (value, got) => {
    expect(await w.errors({ files: web(`    restart: ${value}\n`) })).toEqual([
      `compose.yaml:4:14 services.web.restart: must be "no", "always", "on-failure", "on-failure:<max retries>" or "unless-stopped", ${got}`
    ])
  })
})

describe('stop_signal and stop_grace_period', () => {
  test.each([
    ['SIGTERM', 'SIGTERM'],
    ['SIGINT', 'SIGINT'],
    ['quit', 'SIGQUIT'],
    ['SIGKILL', 'SIGKILL'],
    ['usr1', 'SIGUSR1'],
    ['SIGRTMIN+3', 'SIGRTMIN+3'],
    ['15', '15'],
    ['"9"', '9']
  ])('stop_signal %s is %s', async (value, signal) => {
    expect((await w.service({ files: web(`    stop_signal: ${value}\n`) })).stopSignal).toBe(signal)
  })

  test.each(['SIGFOO', '0', '65', 'TERM!'])('stop_signal %s is an error', async (value) => {
    const errors = await w.errors({ files: web(`    stop_signal: "${value}"\n`) })
    expect(errors).toEqual([
      `compose.yaml:4:18 services.web.stop_signal: must be a signal name such as "SIGTERM", "SIGINT", "SIGQUIT" or "SIGUSR1", or a signal number from 1 to 64, got string ${JSON.stringify(value)}`
    ])
  })

  test.each([
    ['10s', 10],
    ['1m30s', 90],
    ['2h', 7200],
    ['500ms', 1],
    ['1.5s', 2],
    ['1m0.001s', 61],
    ['"0"', 0],
    ['0s', 0],
    ['3000000us', 3],
    ['1h1m1s', 3661]
  ])('stop_grace_period %s is %i seconds, rounded up', async (value, seconds) => {
    expect((await w.service({ files: web(`    stop_grace_period: ${value}\n`) })).stopGracePeriod).toBe(seconds)
  })

  test.each([
    ['10', 'got number 10'],
    ['"-5s"', 'got string "-5s"'],
    ['1x', 'got string "1x"'],
    ['"s"', 'got string "s"'],
    ['10 s', 'got string "10 s"']
  ])('stop_grace_period %s is an error', async (value, got) => {
    expect(await w.errors({ files: web(`    stop_grace_period: ${value}\n`) })).toEqual([
      `compose.yaml:4:24 services.web.stop_grace_period: must be a duration such as "10s", "1m30s" or "500ms" (units h, m, s, ms, us, ns), ${got}`
    ])
  })
})

describe('logging', () => {
  test('awslogs keeps the allowed options, sorted; none has no options', async () => {
    const files = {
      'compose.yaml': [
        'services:',
        '  web:',
        '    image: nginx',
        '    logging:',
        '      driver: awslogs',
        '      options:',
        '        mode: non-blocking',
        '        max-buffer-size: 4m',
        '        awslogs-multiline-pattern: "^INFO"',
        '        awslogs-force-flush-interval-seconds: 10',
        '        awslogs-max-buffered-events: "2048"',
        '  quiet:',
        '    image: nginx',
        '    logging: {driver: none}',
        '  dated:',
        '    image: nginx',
        '    logging:',
        '      options: {awslogs-datetime-format: "%Y-%m-%d"}',
        ''
      ].join('\n')
    }
    expect((await w.service({ files })).logging).toEqual({
      driver: 'awslogs',
      options: {
        'awslogs-force-flush-interval-seconds': '10',
        'awslogs-max-buffered-events': '2048',
        'awslogs-multiline-pattern': '^INFO',
        'max-buffer-size': '4m',
        mode: 'non-blocking'
      }
    })
    expect((await w.service({ files }, 'quiet')).logging).toEqual({ driver: 'none', options: {} })
    expect((await w.service({ files }, 'dated')).logging).toEqual({
      driver: 'awslogs',
      options: { 'awslogs-datetime-format': '%Y-%m-%d' }
    })
  })

  test.each(['awslogs-group', 'awslogs-region', 'awslogs-stream', 'awslogs-create-group', 'awslogs-endpoint', 'tag'])(
    'the option %s is an error saying the action sets where logs go',
    async (option) => {
      expect(await w.errors({ files: web(`    logging:\n      options:\n        ${option}: x\n`) })).toEqual([
        `compose.yaml:6:9 services.web.logging.options.${option}: is set by the action: logs go to the log group /hyperform/<project>/<stack> in the stack's region, one stream per instance <service>/<instance-id>`
      ])
    }
  )

  test.each([
    [
      'another driver',
      '    logging:\n      driver: json-file\n',
      'compose.yaml:5:15 services.web.logging.driver: "json-file" is not supported: logs go to the stack\'s CloudWatch log group with "awslogs" (the default), or nowhere with "none"'
    ],
    [
      'an option awslogs does not document',
      '    logging:\n      options: {awslogs-format: json/emf}\n',
      'compose.yaml:5:17 services.web.logging.options.awslogs-format: is not an awslogs option the action allows; allowed: mode, max-buffer-size, awslogs-datetime-format, awslogs-multiline-pattern, awslogs-force-flush-interval-seconds, awslogs-max-buffered-events'
    ],
    [
      'a buffer size in blocking mode',
      '    logging:\n      options: {max-buffer-size: 4m}\n',
      'compose.yaml:5:17 services.web.logging.options.max-buffer-size: applies only with "mode: non-blocking"'
    ],
    [
      'both multi-line options',
      '    logging:\n      options:\n        awslogs-datetime-format: "%Y"\n        awslogs-multiline-pattern: "^x"\n',
      'compose.yaml:7:9 services.web.logging.options.awslogs-multiline-pattern: set either awslogs-multiline-pattern or awslogs-datetime-format: docker ignores the pattern when both are set'
    ],
    [
      'options for none',
      '    logging:\n      driver: none\n      options: {mode: blocking}\n',
      'compose.yaml:6:7 services.web.logging.options: the "none" driver takes no options'
    ],
    [
      'an unknown mode',
      '    logging:\n      options: {mode: fast}\n',
      'compose.yaml:5:23 services.web.logging.options.mode: must be "blocking" or "non-blocking"'
    ],
    [
      'a flush interval of 0',
      '    logging:\n      options: {awslogs-force-flush-interval-seconds: 0}\n',
      'compose.yaml:5:55 services.web.logging.options.awslogs-force-flush-interval-seconds: must be a positive integer'
    ],
    [
      'a key logging does not have',
      '    logging:\n      drivers: none\n',
      'compose.yaml:5:7 services.web.logging.drivers: not a Compose key; did you mean "driver"?'
    ]
  ])('%s is an error at its file, line and key', async (_name, body, expected) => {
    expect(await w.errors({ files: web(body) })).toEqual([expected])
  })

  test('an override merges options when the driver is the same and replaces them when it changes', async () => {
    const base =
      'services:\n  web:\n    image: nginx\n    logging:\n      driver: awslogs\n      options: {mode: non-blocking, max-buffer-size: 1m}\n'
    const same = await w.service({
      files: { 'a.yaml': base, 'b.yaml': 'services:\n  web:\n    logging:\n      options: {max-buffer-size: 8m}\n' },
      compose: ['a.yaml', 'b.yaml']
    })
    expect(same.logging).toEqual({ driver: 'awslogs', options: { 'max-buffer-size': '8m', mode: 'non-blocking' } })
    const changed = await w.service({
      files: { 'a.yaml': base, 'b.yaml': 'services:\n  web:\n    logging:\n      driver: none\n' },
      compose: ['a.yaml', 'b.yaml']
    })
    expect(changed.logging).toEqual({ driver: 'none', options: {} })
  })
})

describe('x-hyperform of a service', () => {
  test.each([
    ['true', true],
    ['"true"', true],
    ['false', false]
  ])('aws-credentials: %s is %s', async (value, expected) => {
    expect(
      (await w.service({ files: web(`    x-hyperform:\n      aws-credentials: ${value}\n`) })).awsCredentials
    ).toBe(expected)
  })

  test('a mistyped key, another extension key under it, or a non-boolean is an error', async () => {
    expect(
      await w.errors({
        files: web(
          '    x-hyperform:\n      aws-credential: true\n      x-note: hi\n  api:\n    image: nginx\n    x-hyperform: {aws-credentials: "yes"}\n'
        )
      })
    ).toEqual([
      'compose.yaml:5:7 services.web.x-hyperform.aws-credential: not a setting of x-hyperform here; expected "aws-credentials", "health-check"',
      'compose.yaml:6:7 services.web.x-hyperform.x-note: not a setting of x-hyperform here; expected "aws-credentials", "health-check"',
      'compose.yaml:9:36 services.api.x-hyperform.aws-credentials: must be true or false, got string "yes"'
    ])
  })

  test('other x- keys of a service are still ignored silently', async () => {
    const result = await w.load({ files: web('    x-team: payments\n    x-hyperform-notes: anything\n') })
    expect(result).toMatchObject({ ok: true, warnings: [] })
  })

  test('an override replaces x-hyperform whole, as Compose does with extension values', async () => {
    const s = await w.service({
      files: {
        'a.yaml': 'services:\n  web:\n    image: nginx\n    x-hyperform: {aws-credentials: true}\n',
        'b.yaml': 'services:\n  web:\n    x-hyperform: {}\n'
      },
      compose: ['a.yaml', 'b.yaml']
    })
    expect(s.awsCredentials).toBe(false)
  })
})

describe('environment references', () => {
  const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbC123'

  test('ssm: and Secrets Manager ARN values go to environmentFrom, from environment and env_file alike', async () => {
    const s = await w.service({
      files: web(
        `    env_file: app.env\n    environment:\n      DB_PASSWORD: ${ARN}\n      API_KEY: ssm:/prod/api-key\n      PLAIN: hello\n      OVERRIDDEN: literal\n      FROM_STEP:\n`,
        { 'app.env': 'FILE_REF=ssm:/prod/file-ref\nOVERRIDDEN=ssm:/prod/overridden\nFILE_PLAIN=x\n' }
      ),
      env: { FROM_STEP: 'ssm:/prod/from-step' }
    })
    expect(s.environment).toEqual({ FILE_PLAIN: 'x', OVERRIDDEN: 'literal', PLAIN: 'hello' })
    expect(s.environmentFrom).toEqual({
      API_KEY: { ssm: '/prod/api-key' },
      DB_PASSWORD: { secret: ARN },
      FILE_REF: { ssm: '/prod/file-ref' },
      FROM_STEP: { ssm: '/prod/from-step' }
    })
  })

  test('a value that only contains a reference is a literal', async () => {
    const s = await w.service({
      files: web(`    environment:\n      A: "see ssm:/x"\n      B: "id ${ARN}"\n      C: ssm\n`)
    })
    expect(s.environment).toEqual({ A: 'see ssm:/x', B: `id ${ARN}`, C: 'ssm' })
    expect(s.environmentFrom).toEqual({})
  })

  test('a malformed reference is an error at its line, in the compose file or the env file, without its value', async () => {
    const errors = await w.errors({
      files: web(
        '    env_file: [app.env]\n    environment:\n      - A=ssm:relative/name\n      - B=arn:aws:secretsmanager:us-east-1:123:secret:x\n',
        { 'app.env': 'OK=1\nC=ssm:/has space\n' }
      )
    })
    expect(errors).toEqual([
      'compose.yaml:6:9 services.web.environment.A: starts with "ssm:" but is not an SSM parameter reference: "ssm:" must be followed by an absolute parameter name of letters, digits, "_", ".", "-" and "/" (at most 2048 characters), such as "ssm:/app/db-password"',
      'compose.yaml:7:9 services.web.environment.B: starts like a Secrets Manager ARN but is not a secret\'s ARN "arn:<partition>:secretsmanager:<region>:<account>:secret:<name>", such as "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-password" (JSON keys and version suffixes are not supported)',
      'app.env:2:3 services.web.env_file[0].C: starts with "ssm:" but is not an SSM parameter reference: "ssm:" must be followed by an absolute parameter name of letters, digits, "_", ".", "-" and "/" (at most 2048 characters), such as "ssm:/app/db-password"'
    ])
    for (const e of errors) expect(e).not.toMatch(/relative\/name|has space|:123:secret/)
  })
})

/**
 * Compose secrets: top-level declarations (file, environment, an existing AWS secret) and the
 * services' short and long syntax, read into the model; every mistake stops the run at its file,
 * line and key, and no message ever shows a secret's value.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { formatDiagnostic, loadCompose } from '../src/compose/index.js'
import { ComposeWorkspaces } from './helpers/compose-workspace.js'

const w = new ComposeWorkspaces()
afterAll(() => w.cleanup())

const compose = (text: string, extra: Record<string, string> = {}): Record<string, string> => ({
  'compose.yaml': text,
  ...extra
})

describe('secrets read into the model', () => {
  test('short and long syntax get their targets, modes, owners and values', async () => {
    const s = await w.service({
      files: compose(
        [
          'services:',
          '  web:',
          '    image: nginx',
          '    secrets:',
          '      - token',
          '      - source: tls',
          '        target: tls/key.pem',
          '        uid: 1000',
          '        gid: "10"',
          '        mode: 0440',
          '      - source: stripe',
          '        target: /etc/stripe',
          '        mode: "0400"',
          '      - source: db',
          '        mode: 0o600',
          'secrets:',
          '  token:',
          '    environment: API_TOKEN',
          '  tls:',
          '    file: ./certs/tls.key',
          '  stripe:',
          '    x-hyperform:',
          '      from: ssm:/shop/stripe-key',
          '  db:',
          '    external: true',
          '    x-hyperform: {from: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db/main-AbCdEf"}',
          ''
        ].join('\n'),
        { 'certs/tls.key': '-----BEGIN KEY-----\nabc\n' }
      ),
      env: { API_TOKEN: 'tok-123456' }
    })
    expect(s.secrets).toEqual([
      { name: 'token', target: '/run/secrets/token', mode: '0444', value: 'tok-123456' },
      {
        name: 'tls',
        target: '/run/secrets/tls/key.pem',
        mode: '0440',
        uid: '1000',
        gid: '10',
        value: '-----BEGIN KEY-----\nabc\n'
      },
      { name: 'stripe', target: '/etc/stripe', mode: '0400', from: { ssm: '/shop/stripe-key' } },
      {
        name: 'db',
        target: '/run/secrets/db',
        mode: '0600',
        from: { secret: 'arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:db/main-AbCdEf' }
      }
    ])
  })

  test('a service without secrets has none, and a declared secret no service uses is fine', async () => {
    const result = await w.load({
      files: compose('services:\n  web:\n    image: nginx\nsecrets:\n  spare:\n    environment: SPARE\n'),
      env: { SPARE: 'spare-value' }
    })
    expect(result).toMatchObject({ ok: true, warnings: [] })
    expect(result.ok && result.model.services[0]!.secrets).toEqual([])
  })

  test('a secret file is read relative to the first compose file, also for a secret an override declares', async () => {
    const s = await w.service({
      files: {
        'deploy/compose.yaml': 'services:\n  web:\n    image: nginx\n',
        'deploy/override/more.yaml': 'services:\n  web:\n    secrets: [key]\nsecrets:\n  key:\n    file: ./key.txt\n',
        'deploy/key.txt': 'from-the-first-file-dir',
        'deploy/override/key.txt': 'wrong-directory'
      },
      compose: ['deploy/compose.yaml', 'deploy/override/more.yaml']
    })
    expect(s.secrets).toEqual([
      { name: 'key', target: '/run/secrets/key', mode: '0444', value: 'from-the-first-file-dir' }
    ])
  })

  test('the variable a secret names is interpolated, and .env provides variables too', async () => {
    const s = await w.service({
      files: compose(
        [
          'services:',
          '  web:',
          '    image: nginx',
          '    secrets: [stripe, fallback, dotenv]',
          'secrets:',
          '  stripe:',
          '    environment: ${PROVIDER}_TOKEN',
          '  fallback:',
          '    environment: ${MISSING:-DEFAULT_TOKEN}',
          '  dotenv:',
          '    environment: FROM_DOTENV',
          ''
        ].join('\n'),
        { '.env': 'FROM_DOTENV=dotenv-secret\nPROVIDER=STRIPE\n' }
      ),
      env: { STRIPE_TOKEN: 'sk-live-1', DEFAULT_TOKEN: 'default-1', PROVIDER: 'STRIPE' }
    })
    expect(s.secrets.map((x) => [x.name, x.value])).toEqual([
      ['stripe', 'sk-live-1'],
      ['fallback', 'default-1'],
      ['dotenv', 'dotenv-secret']
    ])
  })

  test('an override file replaces a service secret with the same target and keeps the others', async () => {
    const s = await w.service({
      files: {
        'a.yaml':
          'services:\n  web:\n    image: nginx\n    secrets:\n      - one\n      - source: two\n        target: /etc/two\nsecrets:\n  one: {environment: ONE}\n  two: {environment: TWO}\n',
        'b.yaml':
          'services:\n  web:\n    secrets:\n      - source: two\n        target: one\n        mode: "0400"\n      - two\n'
      },
      compose: ['a.yaml', 'b.yaml'],
      env: { ONE: 'one-value', TWO: 'two-value' }
    })
    expect(s.secrets).toEqual([
      { name: 'two', target: '/run/secrets/one', mode: '0400', value: 'two-value' },
      { name: 'two', target: '/etc/two', mode: '0444', value: 'two-value' },
      { name: 'two', target: '/run/secrets/two', mode: '0444', value: 'two-value' }
    ])
  })

  test("an override's x-hyperform replaces the earlier one whole, as Compose does with extensions", async () => {
    const s = await w.service({
      files: {
        'a.yaml':
          'services:\n  web:\n    image: nginx\n    secrets: [k]\nsecrets:\n  k:\n    x-hyperform: {from: "ssm:/a"}\n',
        'b.yaml': 'secrets:\n  k:\n    x-hyperform: {from: "ssm:/b"}\n'
      },
      compose: ['a.yaml', 'b.yaml']
    })
    expect(s.secrets[0]!.from).toEqual({ ssm: '/b' })
  })
})

describe('secret errors at their file, line and key', () => {
  const head = 'services:\n  web:\n    image: nginx\n'

  test.each([
    [
      'a source that is not declared',
      `${head}    secrets: [nope]\n`,
      'compose.yaml:4:15 services.web.secrets[0]: secret "nope" is not declared in the top-level "secrets"'
    ],
    [
      'a long-syntax source that is not declared',
      `${head}    secrets:\n      - source: nope\nsecrets:\n  yes: {environment: X}\n`,
      'compose.yaml:5:17 services.web.secrets[0].source: secret "nope" is not declared in the top-level "secrets"'
    ],
    [
      'a secret file that does not exist',
      `${head}secrets:\n  k:\n    file: ./missing.txt\n`,
      'compose.yaml:6:11 secrets.k.file: secret file "missing.txt": file not found (paths are relative to the first compose file)'
    ],
    [
      'a variable that is not set',
      `${head}secrets:\n  k:\n    environment: NOT_SET\n`,
      "compose.yaml:6:18 secrets.k.environment: variable NOT_SET is not set in the step's environment or in .env"
    ],
    [
      'external without a reference',
      `${head}secrets:\n  k:\n    external: true\n`,
      'compose.yaml:6:5 secrets.k.external: an external secret must say which AWS secret it is with "x-hyperform: {from: ...}"; the supported sources are'
    ],
    [
      'external with a file',
      `${head}secrets:\n  k:\n    external: true\n    environment: X\n`,
      'compose.yaml:6:5 secrets.k.external: conflicts with "environment"'
    ],
    [
      'a name without a source',
      `${head}secrets:\n  k:\n    name: prod-key\n`,
      'compose.yaml:6:5 secrets.k.name: does not say where the value comes from; the supported sources are "file"'
    ],
    [
      'no source at all',
      `${head}secrets:\n  k: {}\n`,
      'compose.yaml:5:3 secrets.k: has no source; the supported sources are'
    ],
    [
      'two sources',
      `${head}secrets:\n  k:\n    environment: X\n    x-hyperform: {from: "ssm:/k"}\n`,
      'compose.yaml:7:5 secrets.k.x-hyperform: a secret has one source, and "environment" is set too'
    ],
    [
      'an SSM reference that is not an absolute name',
      `${head}secrets:\n  k:\n    x-hyperform: {from: "ssm:app/key"}\n`,
      'compose.yaml:6:25 secrets.k.x-hyperform.from: starts with "ssm:" but is not an SSM parameter reference'
    ],
    [
      'a Secrets Manager ARN of something else than a secret',
      `${head}secrets:\n  k:\n    x-hyperform: {from: "arn:aws:secretsmanager:us-east-1:123456789012:key:k"}\n`,
      "compose.yaml:6:25 secrets.k.x-hyperform.from: starts like a Secrets Manager ARN but is not a secret's ARN"
    ],
    [
      'a reference of another kind',
      `${head}secrets:\n  k:\n    x-hyperform: {from: "vault:kv/k"}\n`,
      'compose.yaml:6:25 secrets.k.x-hyperform.from: must be an SSM parameter such as "ssm:/app/db-password" or a Secrets Manager secret ARN'
    ],
    [
      'x-hyperform without from',
      `${head}secrets:\n  k:\n    x-hyperform: {}\n`,
      'compose.yaml:6:5 secrets.k.x-hyperform.from: is required'
    ],
    [
      "a mistyped key under a secret's x-hyperform",
      `${head}secrets:\n  k:\n    x-hyperform: {from: "ssm:/k", form: "ssm:/k"}\n`,
      'compose.yaml:6:35 secrets.k.x-hyperform.form: not a setting of x-hyperform here; expected "from"'
    ],
    [
      'a secret name that is not a file name',
      `${head}secrets:\n  "db key": {environment: X}\n`,
      'compose.yaml:5:3 secrets.db key: secret name "db key" must contain only letters, digits, ".", "_" and "-"'
    ],
    [
      'a decimal mode',
      `${head}    secrets:\n      - source: k\n        mode: 440\nsecrets:\n  k: {environment: X}\n`,
      'compose.yaml:6:15 services.web.secrets[0].mode: must be an octal file mode from 0000 to 0777, such as 0440 or "0440", got number 440 (Compose reads a number without a leading 0 as decimal: write 0440)'
    ],
    [
      'a mode above 0777',
      `${head}    secrets:\n      - source: k\n        mode: "4755"\nsecrets:\n  k: {environment: X}\n`,
      'compose.yaml:6:15 services.web.secrets[0].mode: must be an octal file mode from 0000 to 0777'
    ],
    [
      'a key a service secret does not have',
      `${head}    secrets:\n      - source: k\n        path: /x\nsecrets:\n  k: {environment: X}\n`,
      'compose.yaml:6:9 services.web.secrets[0].path: is not a key of a service secret; expected "source", "target", "uid", "gid", "mode"'
    ],
    [
      'a negative uid',
      `${head}    secrets:\n      - source: k\n        uid: -1\nsecrets:\n  k: {environment: X}\n`,
      'compose.yaml:6:14 services.web.secrets[0].uid: must be a numeric user id, got number -1'
    ],
    [
      'a long item without source',
      `${head}    secrets:\n      - target: /x\nsecrets:\n  k: {environment: X}\n`,
      'compose.yaml:5:9 services.web.secrets[0].source: is required: the name of a top-level secret'
    ],
    [
      'two secrets on the same target',
      `${head}    secrets:\n      - a\n      - source: b\n        target: a\nsecrets:\n  a: {environment: X}\n  b: {environment: X}\n`,
      'compose.yaml:6:9 services.web.secrets[1]: target "/run/secrets/a" is already used by services.web.secrets[0]'
    ],
    [
      'a secret driver',
      `${head}secrets:\n  k:\n    environment: X\n    driver: vault\n`,
      'compose.yaml:7:5 secrets.k.driver: not supported: secret drivers are not used'
    ]
  ])('%s', async (_name, text, expected) => {
    const errors = await w.errors({ files: compose(text), env: { X: 'x-value' } })
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain(expected)
  })

  test('a secret file that is a directory, too large, or not UTF-8 is an error naming the file', async () => {
    const dir = w.workspace({
      'compose.yaml':
        'secrets:\n  a: {file: ./dir}\n  b: {file: big.bin}\n  c: {file: latin1.txt}\nservices:\n  web:\n    image: nginx\n'
    })
    mkdirSync(join(dir, 'dir'))
    writeFileSync(join(dir, 'big.bin'), 'x'.repeat(8193))
    writeFileSync(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]))
    const result = await loadCompose({ files: ['compose.yaml'], workspace: dir, env: {} })
    expect(result.ok ? [] : result.errors.map(formatDiagnostic)).toEqual([
      'compose.yaml:2:13 secrets.a.file: secret file "dir": is a directory, not a file',
      'compose.yaml:3:13 secrets.b.file: secret file "big.bin": is larger than 8192 bytes, the most an SSM parameter holds; keep it in Secrets Manager and use "x-hyperform: {from: <secret ARN>}"',
      'compose.yaml:4:13 secrets.c.file: secret file "latin1.txt": is not UTF-8 text; store binary secrets base64-encoded'
    ])
  })

  test('an empty variable is a warning, not an error', async () => {
    expect(
      await w.printed({
        files: compose('services:\n  web:\n    image: nginx\nsecrets:\n  k: {environment: EMPTY}\n'),
        env: { EMPTY: '' }
      })
    ).toEqual(['compose.yaml:5:20 secrets.k.environment: variable EMPTY is empty; the secret file will be empty'])
  })
})

describe('secret values in messages', () => {
  const VALUE = 'Hunter2SecretValue'
  const ODD = 'p@ss w0rd!-9f3a'

  test('no diagnostic shows a secret value, even a value written where a variable name belongs', async () => {
    const text = [
      'services:',
      '  web:',
      '    image: nginx',
      '    deploy: {replicas: many}',
      '    secrets:',
      '      - from_file',
      '      - from_env',
      '      - source: value_as_name',
      '        mode: 999',
      '      - odd_value_as_name',
      'secrets:',
      '  from_file: {file: ./secret.txt}',
      '  from_env: {environment: GOOD}',
      '  value_as_name: {environment: "${PASSWORD}"}',
      '  odd_value_as_name: {environment: "${ODD}"}',
      '  empty_value_as_name: {environment: "${EMPTY_NAME}"}',
      '  extra: {environment: GOOD, file: ./secret.txt}',
      ''
    ].join('\n')
    const env = { GOOD: VALUE, PASSWORD: VALUE, ODD, EMPTY_NAME: 'EMPTY', EMPTY: '' }
    const printed = await w.printed({ files: compose(text, { 'secret.txt': VALUE }), env })
    expect(printed).toEqual([
      'compose.yaml:4:24 services.web.deploy.replicas: must be an integer, got string "many"',
      expect.stringContaining('compose.yaml:9:15 services.web.secrets[2].mode: must be an octal file mode'),
      "compose.yaml:14:32 secrets.value_as_name.environment: the variable this names (after interpolation) is not set in the step's environment or in .env",
      'compose.yaml:15:36 secrets.odd_value_as_name.environment: the interpolated value is not a variable name (letters, digits and underscores, not starting with a digit): write the name of the variable holding the secret, such as "environment: DB_PASSWORD", not its value',
      'compose.yaml:17:30 secrets.extra.file: a secret has one source, and "environment" is set too',
      'compose.yaml:16:38 secrets.empty_value_as_name.environment: the variable this names (after interpolation) is empty; the secret file will be empty'
    ])
    for (const line of printed) {
      expect(line).not.toContain(VALUE)
      expect(line).not.toContain(ODD)
    }
  })
})

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { readInputs, resolveStack, InputError, type InputsDraft } from '../src/inputs.js'

const saved = { ...process.env }
afterEach(() => {
  process.env = { ...saved }
})

function setInputs(inputs: Record<string, string>): void {
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) delete process.env[key]
  for (const [k, v] of Object.entries(inputs)) process.env[`INPUT_${k.toUpperCase()}`] = v
}

function workspace(files: string[] = []): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyperform-inputs-'))
  for (const f of files) writeFileSync(path.join(dir, f), 'services: {}\n')
  return dir
}

function problems(fn: () => unknown): string[] {
  try {
    fn()
  } catch (error) {
    if (error instanceof InputError) return error.problems
    throw error
  }
  return []
}

describe('reading the action inputs', () => {
  it('applies the documented defaults', () => {
    setInputs({ project: 'shop' })
    const env = { AWS_REGION: 'eu-west-1', GITHUB_WORKSPACE: workspace() }
    const draft = readInputs(env)
    expect(draft).toMatchObject({
      project: 'shop',
      region: 'eu-west-1',
      composeFiles: ['compose.yaml'],
      command: 'deploy',
      commandExplicit: false,
      subnetIds: [],
      instanceType: 't3.micro',
      dnsTtl: 10,
      wait: true,
      waitTimeout: 900,
      logRetentionDays: 14,
      allowForks: false,
      spotFallback: 'none',
      spotInstanceTypes: []
    })
    expect(draft.stack).toBeUndefined()
  })

  it('takes spot-fallback on-demand, and refuses another value naming the input', () => {
    setInputs({ project: 'shop', region: 'us-east-1', 'spot-fallback': 'on-demand' })
    expect(readInputs({ GITHUB_WORKSPACE: workspace() }).spotFallback).toBe('on-demand')
    setInputs({ project: 'shop', region: 'us-east-1', 'spot-fallback': 'ondemand' })
    expect(problems(() => readInputs({ GITHUB_WORKSPACE: workspace() }))).toEqual([
      'Input "spot-fallback": "ondemand" is not one of none, on-demand'
    ])
  })

  it('finds the first default compose file that exists, in Compose order', () => {
    setInputs({ project: 'shop', region: 'us-east-1' })
    const draft = readInputs({ GITHUB_WORKSPACE: workspace(['docker-compose.yml', 'compose.yml']) })
    expect(draft.composeFiles).toEqual(['compose.yml'])
  })

  it('takes several compose files one per line, in order', () => {
    setInputs({ project: 'shop', region: 'us-east-1', 'compose-file': 'compose.yaml\ncompose.prod.yaml\n' })
    expect(readInputs({ GITHUB_WORKSPACE: workspace() }).composeFiles).toEqual(['compose.yaml', 'compose.prod.yaml'])
  })

  it('splits subnet ids on commas and newlines', () => {
    setInputs({
      project: 'shop',
      region: 'us-east-1',
      'subnet-ids': 'subnet-0123456789abcdef0, subnet-0fedcba9876543210\nsubnet-01234567'
    })
    expect(readInputs({ GITHUB_WORKSPACE: workspace() }).subnetIds).toEqual([
      'subnet-0123456789abcdef0',
      'subnet-0fedcba9876543210',
      'subnet-01234567'
    ])
  })

  it('rejects non-strict booleans, out-of-range numbers and malformed ids, all at once', () => {
    setInputs({
      project: 'shop',
      region: 'us-east-1',
      wait: 'yes',
      'wait-timeout': '0',
      'dns-ttl': '-1',
      'log-retention-days': '15',
      'subnet-ids': 'subnet-xyz',
      ami: 'ubuntu',
      'instance-type': 'huge',
      'allow-forks': '1'
    })
    expect(problems(() => readInputs({ GITHUB_WORKSPACE: workspace() }))).toEqual([
      'Input "instance-type": "huge" is not an EC2 instance type such as t3.micro',
      'Input "subnet-ids": "subnet-xyz" is not a subnet id such as subnet-0123456789abcdef0',
      'Input "ami": "ubuntu" is not an AMI id such as ami-0123456789abcdef0 or resolve:ssm:/parameter/name',
      'Input "dns-ttl": "-1" is not a whole number from 0 to 172800',
      'Input "wait": "yes" is not a boolean (use true or false)',
      'Input "wait-timeout": "0" is not a whole number from 1 to 21600',
      'Input "log-retention-days": "15" is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)',
      'Input "allow-forks": "1" is not a boolean (use true or false)'
    ])
  })

  it('requires a region from the input or the environment', () => {
    setInputs({ project: 'shop' })
    expect(problems(() => readInputs({ GITHUB_WORKSPACE: workspace() }))).toEqual([
      'Input "region": not set, and neither is AWS_REGION nor AWS_DEFAULT_REGION (aws-actions/configure-aws-credentials sets them)'
    ])
  })

  it('takes a KMS key id or key ARN for the configurations, and refuses an alias, which no instance role could be granted', () => {
    const key = '1234abcd-12ab-34cd-56ef-1234567890ab'
    setInputs({ project: 'shop', region: 'us-east-1', 'kms-key-id': key })
    expect(readInputs({ GITHUB_WORKSPACE: workspace() }).kmsKeyId).toBe(key)
    setInputs({ project: 'shop', region: 'us-east-1', 'kms-key-id': `arn:aws:kms:us-east-1:123456789012:key/${key}` })
    expect(readInputs({ GITHUB_WORKSPACE: workspace() }).kmsKeyId).toBe(`arn:aws:kms:us-east-1:123456789012:key/${key}`)
    setInputs({ project: 'shop', region: 'us-east-1', 'kms-key-id': 'alias/app' })
    expect(problems(() => readInputs({ GITHUB_WORKSPACE: workspace() })).join('\n')).toContain('Input "kms-key-id"')
    setInputs({ project: 'shop', region: 'us-east-1' })
    expect(readInputs({ GITHUB_WORKSPACE: workspace() })).toMatchObject({ kmsKeyId: undefined, lines: 100 })
  })

  it('accepts an SSM parameter reference as the AMI', () => {
    setInputs({ project: 'shop', region: 'us-east-1', ami: 'resolve:ssm:/my/ami' })
    expect(readInputs({ GITHUB_WORKSPACE: workspace() }).ami).toBe('resolve:ssm:/my/ami')
  })

  it.each([
    ['a parameter version', 'resolve:ssm:/golden/ami:12'],
    ['a parameter label', 'resolve:ssm:/golden/ami:prod-2026.11'],
    ['a name outside any hierarchy, with a version', 'resolve:ssm:golden-ami:3']
  ])('accepts an SSM parameter reference to %s as the AMI, as launch templates do', (_what, ami) => {
    setInputs({ project: 'shop', region: 'us-east-1', ami })
    expect(readInputs({ GITHUB_WORKSPACE: workspace() }).ami).toBe(ami)
  })

  it('rejects SSM references with no name, a version 0 or a label AWS would refuse, naming the input', () => {
    setInputs({ project: 'shop', region: 'us-east-1', ami: 'resolve:ssm:/golden/ami:0' })
    expect(problems(() => readInputs({ GITHUB_WORKSPACE: workspace() }))).toEqual([
      'Input "ami": "resolve:ssm:/golden/ami:0" has parameter version "0"; versions are whole numbers from 1'
    ])
    for (const ami of [
      'resolve:ssm:',
      'resolve:ssm::3',
      'resolve:ssm:/golden ami',
      'resolve:ssm:/a:b:c',
      'resolve:ssm:/golden/ami:aws-prod',
      'resolve:ssm:/golden/ami:1st'
    ]) {
      setInputs({ project: 'shop', region: 'us-east-1', ami })
      const found = problems(() => readInputs({ GITHUB_WORKSPACE: workspace() }))
      expect({ ami, found: found.map((p) => p.startsWith(`Input "ami": "${ami}" `)) }).toEqual({ ami, found: [true] })
    }
  })
})

describe('choosing the stack', () => {
  function draft(stack?: string): InputsDraft {
    setInputs({ project: 'shop', region: 'us-east-1', ...(stack ? { stack } : {}) })
    return readInputs({ GITHUB_WORKSPACE: workspace() })
  }

  function eventFile(payload: unknown): string {
    const file = path.join(workspace(), 'event.json')
    writeFileSync(file, JSON.stringify(payload))
    return file
  }

  it('prefers the stack input over everything else', () => {
    const env = {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventFile({ number: 7 }),
      GITHUB_REPOSITORY: 'o/r'
    }
    expect(resolveStack(draft('prod'), 'compose-name', env)).toMatchObject({
      inputs: { stack: 'prod' },
      source: 'input'
    })
  })

  it('uses pr-<number> on pull request events', () => {
    const env = {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventFile({ number: 42, pull_request: { number: 42 } })
    }
    expect(resolveStack(draft(), 'compose-name', env)).toMatchObject({
      inputs: { stack: 'pr-42' },
      source: 'pull-request'
    })
  })

  it('falls back to the compose name, then to the sanitised repository name', () => {
    expect(resolveStack(draft(), 'My App', { GITHUB_EVENT_NAME: 'push', GITHUB_REPOSITORY: 'o/r' })).toMatchObject({
      inputs: { stack: 'my-app' },
      source: 'compose-name'
    })
    expect(
      resolveStack(draft(), undefined, { GITHUB_EVENT_NAME: 'push', GITHUB_REPOSITORY: 'octo/Web_Shop' })
    ).toMatchObject({ inputs: { stack: 'web-shop' }, source: 'repository' })
  })

  it('fails when nothing gives a stack name', () => {
    expect(problems(() => resolveStack(draft(), undefined, {}))).toEqual([
      'Input "stack": not set, and no pull request, compose name: or GITHUB_REPOSITORY to derive it from'
    ])
  })
})

/**
 * The per-service kinds of the instance agent in the plan: instance role, instance profile and
 * configuration, verified against AWS or known from the launch template's tags.
 */
import { gzipSync } from 'node:zlib'
import { agentConfig, instanceGrants } from '../src/agent/build.js'
import { instancePolicy } from '../src/resources/instance-role.js'
import { asgName, LAUNCH_HOOK } from '../src/names.js'
import { diff } from '../src/plan.js'
import type { Change, DesiredState } from '../src/state.js'
import { ACCOUNT, currentFrom, currentUnverified, desiredFor, svc } from './helpers/deploy-fixtures.js'

const SECRET_VALUE = 'correct-horse-battery-staple-42'
const ECR_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/wordpress:6'

function stack(password = SECRET_VALUE): DesiredState {
  return desiredFor({
    services: [
      svc('web', {
        image: ECR_IMAGE,
        environment: { DB_PASSWORD: password },
        environmentFrom: { API_KEY: { ssm: '/shared/api-key' } },
        secrets: [
          {
            name: 'tls',
            target: '/run/secrets/tls',
            mode: '0444',
            from: { secret: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:tls-key' }
          }
        ]
      }),
      svc('db', { image: 'mysql:8' })
    ],
    files: ['compose.yaml']
  })
}

const of = (changes: Change[], kind: string, service: string): Change | undefined =>
  changes.find((c) => c.kind === kind && c.service === service)

describe('the instance agent kinds in the plan', () => {
  test("a service's instance role may read only its own configuration and references, pull only its repository and write only its own streams", () => {
    const web = stack().services.find((s) => s.name === 'web')!
    const policy = JSON.parse(instancePolicy(web.instanceRole.grants, { accountId: ACCOUNT, partition: 'aws' })) as {
      Statement: Array<{ Sid: string; Action: string | string[]; Resource: string | string[] }>
    }
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]))
    expect(bySid.ReadOwnConfiguration?.Resource).toEqual([
      `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/hyperform/prj-demo/st-wordpress/web/config`,
      `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/shared/api-key`
    ])
    expect(bySid.ReadOwnSecrets?.Resource).toEqual([
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:tls-key',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:tls-key-??????'
    ])
    expect(bySid.PullOwnImages?.Resource).toEqual(['arn:aws:ecr:us-east-1:123456789012:repository/wordpress'])
    expect(bySid.LogInToEcr?.Resource).toBe('*')
    expect(bySid.WriteOwnLogStreams?.Resource).toBe(
      `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/hyperform/prj-demo/st-wordpress:log-stream:web/*`
    )
    // The launch hook and the instance health: the service's two groups only; finding its group needs `*`.
    const scope = stack().scope
    expect(bySid.ReportToOwnGroups?.Action).toEqual([
      'autoscaling:CompleteLifecycleAction',
      'autoscaling:RecordLifecycleActionHeartbeat',
      'autoscaling:SetInstanceHealth'
    ])
    expect(bySid.ReportToOwnGroups?.Resource).toEqual(
      [asgName(scope, 'web', 'on-demand'), asgName(scope, 'web', 'spot')].map(
        (g) => `arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/${g}`
      )
    )
    expect(bySid.ReportToOwnGroups?.Resource).toEqual([
      `arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/hyperform-prj-demo-st-wordpress-web-on-demand`,
      `arn:aws:autoscaling:us-east-1:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/hyperform-prj-demo-st-wordpress-web-spot`
    ])
    expect(bySid.FindOwnGroup).toMatchObject({ Action: 'autoscaling:DescribeAutoScalingInstances', Resource: '*' })
    // Nothing else, and nothing of the other service.
    expect(Object.keys(bySid).sort()).toEqual(
      [
        'FindOwnGroup',
        'LogInToEcr',
        'PullOwnImages',
        'ReadOwnConfiguration',
        'ReadOwnSecrets',
        'ReportToOwnGroups',
        'WriteOwnLogStreams'
      ].sort()
    )
    expect(JSON.stringify(policy)).not.toContain('/db/')
    const db = stack().services.find((s) => s.name === 'db')!
    const dbPolicy = instancePolicy(db.instanceRole.grants, { accountId: ACCOUNT, partition: 'aws' })
    expect(dbPolicy).not.toContain('ecr:')
    expect(dbPolicy).not.toContain('secretsmanager:')
    expect(dbPolicy).not.toContain('/web/')
  })

  test('the configuration names the launch hook, the settle time and where the agent writes its lines; a service logging nowhere still gets its stream', () => {
    const desired = desiredFor({
      services: [svc('web'), svc('quiet', { logging: { driver: 'none', options: {} } })],
      files: ['compose.yaml']
    })
    for (const service of desired.services) {
      const config = JSON.parse(service.configValue) as Record<string, unknown>
      expect(config.version).toBe(1)
      expect(config.lifecycle).toEqual({ hook: LAUNCH_HOOK, settleSeconds: 10 })
      expect(config.agentLog).toEqual({
        group: '/hyperform/prj-demo/st-wordpress',
        region: 'us-east-1',
        streamPrefix: service.name
      })
      const policy = instancePolicy(service.instanceRole.grants, { accountId: ACCOUNT, partition: 'aws' })
      expect(policy).toContain(`log-group:/hyperform/prj-demo/st-wordpress:log-stream:${service.name}/*`)
      expect(policy).toContain(`autoScalingGroupName/${asgName(desired.scope, service.name, 'spot')}`)
    }
    const quiet = desired.services.find((s) => s.name === 'quiet')!
    expect(JSON.parse(quiet.configValue)).toMatchObject({ logging: { driver: 'none' } })
  })

  test('a kms-key-id encrypts every configuration with that key and lets each instance role decrypt with it through SSM only', () => {
    const key = '1234abcd-12ab-34cd-56ef-1234567890ab'
    const desired = desiredFor({ services: [svc('web'), svc('db')], files: ['compose.yaml'] }, { kmsKeyId: key })
    for (const service of desired.services) {
      expect(service.config.keyId).toBe(key)
      const policy = JSON.parse(
        instancePolicy(service.instanceRole.grants, { accountId: ACCOUNT, partition: 'aws' })
      ) as {
        Statement: Array<{ Sid: string; Resource: unknown; Condition?: unknown }>
      }
      expect(policy.Statement.find((s) => s.Sid === 'DecryptConfiguration')).toEqual(
        expect.objectContaining({
          Resource: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${key}`,
          Condition: { StringEquals: { 'kms:ViaService': 'ssm.us-east-1.amazonaws.com' } }
        })
      )
    }
    // the key changing is a change of every configuration (and of every role's policy)
    const before = desiredFor({ services: [svc('web'), svc('db')], files: ['compose.yaml'] })
    const changes = diff(desired, currentFrom(before)).changes
    expect(changes.filter((c) => c.kind === 'service-config').map((c) => c.action)).toEqual(['update', 'update'])
    expect(changes.filter((c) => c.kind === 'instance-role').map((c) => c.action)).toEqual(['update', 'update'])
  })

  test('an unchanged stack plans no change, whether the agent resources are verified or known from the templates', () => {
    const desired = stack()
    for (const current of [currentFrom(desired), currentUnverified(desired)]) {
      const changes = diff(desired, current).changes.filter((c) => c.action !== 'noop')
      expect(changes).toEqual([])
    }
  })

  test('a changed secret value writes a new configuration and a new template version, and the plan never holds the value', () => {
    const before = stack()
    const after = stack('another-secret-value-99')
    for (const current of [currentFrom(before), currentUnverified(before)]) {
      const plan = diff(after, current)
      expect(of(plan.changes, 'service-config', 'web')?.action).toBe('update')
      expect(of(plan.changes, 'launch-template', 'web')?.action).toBe('update')
      expect(of(plan.changes, 'launch-template', 'web')?.reason).toContain('configuration changed')
      expect(of(plan.changes, 'service-config', 'db')?.action).toBe('noop')
      expect(of(plan.changes, 'instance-role', 'web')?.action).toBe('noop')
      const text = JSON.stringify(plan)
      expect(text).not.toContain('another-secret-value-99')
      expect(text).not.toContain(SECRET_VALUE)
    }
  })

  test('a new reference grants the role a new permission: the role policy and the template tags are updated', () => {
    const before = stack()
    const after = desiredFor({
      services: [
        { ...svc('web', { image: ECR_IMAGE }), environmentFrom: { API_KEY: { ssm: '/shared/other-key' } } },
        svc('db', { image: 'mysql:8' })
      ],
      files: ['compose.yaml']
    })
    const plan = diff(after, currentUnverified(before))
    expect(of(plan.changes, 'instance-role', 'web')?.action).toBe('update')
    expect(of(plan.changes, 'instance-role', 'web')?.reason).toBe('permissions changed')
    expect(of(plan.changes, 'instance-profile', 'web')?.action).toBe('noop')
  })

  test('verified, a role, profile or configuration deleted by hand is made again and reported as drift', () => {
    const desired = stack()
    const current = currentFrom(desired)
    current.instanceRoles = current.instanceRoles!.filter((r) => r.service !== 'web')
    current.instanceProfiles = current.instanceProfiles!.filter((p) => !p.name.includes('-web-'))
    current.configs = current.configs!.filter((c) => c.service !== 'web')
    const changes = diff(desired, current).changes
    for (const kind of ['instance-role', 'instance-profile', 'service-config']) {
      expect(of(changes, kind, 'web')).toMatchObject({ action: 'create', drift: true })
      expect(of(changes, kind, 'db')?.action).toBe('noop')
    }
    // The instances must read the new configuration: a new template version.
    expect(of(changes, 'launch-template', 'web')?.action).toBe('update')
  })

  test('a service removed from the compose file takes its role, profile and configuration with it, verified or not', () => {
    const before = stack()
    const after = desiredFor({ services: [svc('db', { image: 'mysql:8' })], files: ['compose.yaml'] })
    for (const current of [currentFrom(before), currentUnverified(before)]) {
      const deletes = diff(after, current).changes.filter((c) => c.action === 'delete')
      expect(
        deletes
          .filter((c) => c.service === 'web')
          .map((c) => c.kind)
          .sort()
      ).toEqual(
        [
          'auto-scaling-group',
          'auto-scaling-group',
          'dns-record',
          'instance-profile',
          'instance-role',
          'launch-template',
          'security-group',
          'service-config'
        ].sort()
      )
      expect(deletes.some((c) => c.service === 'db')).toBe(false)
    }
  })

  test('a configuration over 4 KB goes to the advanced tier, and one over 8 KB is refused naming the service', () => {
    const big = (bytes: number): DesiredState =>
      desiredFor({ services: [svc('web', { environment: { BIG: 'x'.repeat(bytes) } })], files: ['compose.yaml'] })
    expect(big(100).services[0]?.config.tier).toBe('Standard')
    expect(big(5000).services[0]?.config.tier).toBe('Advanced')
    expect(() => big(9000)).toThrow(/service "web": its configuration .* is \d+ bytes; an SSM parameter holds 8192/)
  })

  test("named volumes: the configuration names the mounts (sorted) and the zone, the role may find volumes and attach only its own service's", () => {
    const content = gzipSync('worker_processes 1;\n').toString('base64')
    const service = svc('db', {
      volumes: [
        { name: 'logs', target: '/var/log/db', readOnly: false },
        { name: 'data', target: '/var/lib/db', readOnly: true }
      ],
      files: [
        {
          target: '/etc/db.conf',
          mode: '0444',
          content,
          source: 'db.conf',
          location: { file: 'compose.yaml', line: 3, column: 1 }
        }
      ]
    })
    const ctx = { region: 'us-east-1', dns: { resolver: '10.0.0.2', search: [] }, logGroup: '/hyperform/p/s' }
    expect(() => agentConfig(service, ctx)).toThrow(/service "db" mounts named volumes, but no availability zone/)
    const config = agentConfig(service, { ...ctx, volumes: { project: 'p', stack: 's', zone: 'us-east-1b' } })
    expect(config.volumes).toEqual({
      project: 'p',
      stack: 's',
      zone: 'us-east-1b',
      mounts: [
        { name: 'data', target: '/var/lib/db', readOnly: true },
        { name: 'logs', target: '/var/log/db', readOnly: false }
      ]
    })
    expect(config.files).toEqual([{ target: '/etc/db.conf', mode: '0444', content }])
    const grants = instanceGrants(config, {
      region: 'us-east-1',
      configParameter: '/hyperform/p/s/db/config',
      groups: []
    })
    expect(grants.volumes).toEqual({ project: 'p', stack: 's', service: 'db' })
    const policy = JSON.parse(instancePolicy(grants, { accountId: ACCOUNT, partition: 'aws' })) as {
      Statement: Array<{ Sid: string }>
    }
    const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]))
    expect(bySid.FindOwnVolumes).toEqual({
      Sid: 'FindOwnVolumes',
      Effect: 'Allow',
      Action: 'ec2:DescribeVolumes',
      Resource: '*'
    })
    expect(bySid.AttachOwnVolumes).toEqual({
      Sid: 'AttachOwnVolumes',
      Effect: 'Allow',
      Action: 'ec2:AttachVolume',
      Resource: [`arn:aws:ec2:us-east-1:${ACCOUNT}:instance/*`, `arn:aws:ec2:us-east-1:${ACCOUNT}:volume/*`],
      Condition: {
        StringEquals: {
          'aws:ResourceTag/hyperform:project': 'p',
          'aws:ResourceTag/hyperform:stack': 's',
          'aws:ResourceTag/hyperform:service': 'db'
        }
      }
    })
    // a service without volumes: no EC2 permission at all
    const plain = agentConfig(svc('web'), ctx)
    expect(plain.volumes).toBeUndefined()
    expect(plain.files).toBeUndefined()
    const plainGrants = instanceGrants(plain, { region: 'us-east-1', configParameter: '/c', groups: [] })
    expect(instancePolicy(plainGrants, { accountId: ACCOUNT, partition: 'aws' })).not.toContain('ec2:')
  })
})

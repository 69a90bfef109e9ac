/** Shared fixtures for the deploy engine's tests: inputs, models, and a current state that equals a desired one. */
import type { ComposeModel, ServiceModel } from '../../src/compose/model.js'
import { buildDesired } from '../../src/desired.js'
import { groupTags, maxSize } from '../../src/resources/auto-scaling-group.js'
import { functionEnvironment } from '../../src/resources/lambda-function.js'
import { launchTemplateHash } from '../../src/resources/launch-template.js'
import { logGroupArn } from '../../src/resources/log-group.js'
import { rolePolicyDocument } from '../../src/resources/role-policy.js'
import { ingressHash } from '../../src/resources/security-group.js'
import type { ActionInputs } from '../../src/inputs.js'
import { queueArn, queueAttributes } from '../../src/resources/event-queue.js'
import type { CurrentState, DesiredState, Network } from '../../src/state.js'

export const ACCOUNT = '123456789012'
/** The configuration version the fixtures' templates launch. */
export const CONFIG_VERSION = 2
export const ZONE_ID = 'Z0EXAMPLE'
export const network: Network = {
  vpcId: 'vpc-1',
  vpcCidr: '172.28.0.0/16',
  subnetIds: ['subnet-b', 'subnet-a'],
  resolver: '172.28.0.2'
}
export const lambdaCode = { zipPath: 'dist/lambda/update-r53-record.zip', codeSha256: 'c2hhMjU2' }

export function inputs(overrides: Partial<ActionInputs> = {}): ActionInputs {
  return {
    project: 'prj-demo',
    region: 'us-east-1',
    stack: 'st-wordpress',
    composeFiles: ['compose.yaml'],
    workspace: '.',
    command: 'deploy',
    subnetIds: [],
    instanceType: 't3.small',
    spotInstanceTypes: ['t3a.small', 'm7g.medium'],
    spotFallback: 'none',
    imagesKept: 20,
    dnsTtl: 60,
    wait: false,
    waitTimeout: 300,
    logRetentionDays: 14,
    lines: 100,
    allowForks: false,
    ...overrides
  }
}

/** The model fields a compose file without secrets, restart, stop or logging keys gets. */
export const RUNTIME_DEFAULTS: Pick<
  ServiceModel,
  'environmentFrom' | 'secrets' | 'restart' | 'stopSignal' | 'stopGracePeriod' | 'logging' | 'awsCredentials'
> = {
  environmentFrom: {},
  secrets: [],
  restart: 'always',
  stopSignal: 'SIGTERM',
  stopGracePeriod: 10,
  logging: { driver: 'awslogs', options: {} },
  awsCredentials: false
}

export function svc(name: string, overrides: Partial<ServiceModel> = {}): ServiceModel {
  return {
    name,
    image: `${name}:1`,
    environment: { A: '1' },
    ...RUNTIME_DEFAULTS,
    ports: [],
    expose: [],
    replicas: 1,
    preemptible: 0,
    public: false,
    location: { file: 'compose.yaml', line: 1, column: 1 },
    ...overrides
  }
}

/** The seed's wordpress example. */
export function wordpress(): ComposeModel {
  return {
    services: [
      svc('db', {
        image: 'mysql:5.7',
        ports: [{ target: 3306, published: 3306, protocol: 'tcp' }],
        environment: { MYSQL_PASSWORD: 'password' }
      }),
      svc('wordpress', {
        image: 'wordpress:latest',
        replicas: 2,
        preemptible: 1,
        ports: [{ target: 80, published: 80, protocol: 'tcp' }],
        environment: { WORDPRESS_DB_HOST: 'db:3306' }
      })
    ],
    files: ['compose.yaml']
  }
}

export function desiredFor(model: ComposeModel = wordpress(), over: Partial<ActionInputs> = {}): DesiredState {
  return buildDesired({ inputs: inputs(over), model, network, lambdaCode })
}

/** As `currentFrom`, read without verifying the agent resources: the templates' tags stand for them. */
export function currentUnverified(desired: DesiredState): CurrentState {
  const { instanceRoles: _r, instanceProfiles: _p, configs: _c, ...rest } = currentFrom(desired)
  return rest
}

/** What AWS would show right after `desired` was applied (one instance per wanted slot). */
export function currentFrom(desired: DesiredState): CurrentState {
  const p = desired.project
  const scope = desired.scope
  const fnArn = `arn:aws:lambda:${scope.region}:${ACCOUNT}:function:${p.function.name}`
  const ruleArn = `arn:aws:events:${scope.region}:${ACCOUNT}:rule/${p.rule.name}`
  const lgArn = logGroupArn({ partition: 'aws', region: scope.region, accountId: ACCOUNT, name: p.logGroup.name })
  const scheduleArn = `arn:aws:events:${scope.region}:${ACCOUNT}:rule/${p.scheduleRule.name}`
  const ids = { partition: 'aws', accountId: ACCOUNT }
  const qArn = queueArn({ ...ids, region: scope.region, name: p.queue.name })
  const queueUrl = (name: string): string => `https://sqs.${scope.region}.amazonaws.com/${ACCOUNT}/${name}`
  let n = 0
  const services = desired.services.map((s) => {
    const sgId = `sg-${s.name}`
    const ltId = `lt-${s.name}`
    return {
      role: {
        name: s.instanceRole.name,
        arn: `arn:aws:iam::${ACCOUNT}:role${s.instanceRole.path}${s.instanceRole.name}`,
        service: s.name,
        hash: s.instanceRole.hash,
        trustOk: true
      },
      profile: {
        name: s.instanceProfile.name,
        arn: `arn:aws:iam::${ACCOUNT}:instance-profile${s.instanceProfile.path}${s.instanceProfile.name}`,
        roles: [s.instanceRole.name]
      },
      config: {
        name: s.config.name,
        service: s.name,
        version: CONFIG_VERSION,
        hash: s.config.hash,
        keyId: s.config.keyId ?? 'alias/aws/ssm',
        tier: s.config.tier
      },
      sg: {
        id: sgId,
        name: s.securityGroup.name,
        vpcId: network.vpcId,
        service: s.name,
        ingress: s.securityGroup.ingress,
        configHash: ingressHash(s.securityGroup.ingress)
      },
      lt: {
        id: ltId,
        name: s.launchTemplate.name,
        service: s.name,
        defaultVersion: 3,
        latestVersion: 3,
        configHash: launchTemplateHash(s.launchTemplate.spec, { securityGroupId: sgId, configVersion: CONFIG_VERSION }),
        image: s.image,
        instanceType: s.launchTemplate.spec.instanceType,
        configuration: { hash: s.config.hash, version: CONFIG_VERSION },
        rolePolicy: s.instanceRole.hash,
        metadataTags: true
      },
      asgs: s.asgs.map((a) => ({
        name: a.name,
        service: s.name,
        capacity: a.capacity,
        min: a.size,
        max: maxSize(a.size),
        desired: a.size,
        launchTemplateId: ltId,
        launchTemplateVersion: '3',
        instanceTypes: a.instanceTypes,
        ...(a.capacity === 'spot'
          ? { onDemandBase: 0, onDemandPercent: 0, spotStrategy: 'price-capacity-optimized' }
          : {}),
        capacityRebalance: a.capacity === 'spot',
        targetGroupArns: [],
        subnetIds: [...a.subnetIds].sort(),
        instances: Array.from({ length: a.size }, () => ({
          id: `i-${(n += 1)}`,
          lifecycleState: 'InService',
          healthStatus: 'Healthy'
        })),
        tags: groupTags(a)
      }))
    }
  })
  return {
    scope,
    accountId: ACCOUNT,
    partition: 'aws',
    zone: { id: ZONE_ID, name: p.zone.name },
    rolePolicy: {
      roleName: p.role.name,
      policyName: p.rolePolicy.policyName,
      document: rolePolicyDocument({
        partition: 'aws',
        project: scope.project,
        zoneId: ZONE_ID,
        logGroupArn: lgArn,
        queueArn: qArn
      })
    },
    logGroup: { name: p.logGroup.name, arn: lgArn, retentionDays: p.logGroup.retentionDays },
    function: {
      name: p.function.name,
      arn: fnArn,
      runtime: p.function.runtime,
      handler: p.function.handler,
      role: `arn:aws:iam::${ACCOUNT}:role/${p.role.name}`,
      timeout: p.function.timeout,
      memorySize: p.function.memorySize,
      codeSha256: p.function.codeSha256,
      environment: functionEnvironment(p.function.environment, ZONE_ID),
      state: 'Active'
    },
    rule: { name: p.rule.name, arn: ruleArn, eventPattern: p.rule.eventPattern, state: 'ENABLED' },
    scheduleRule: {
      name: p.scheduleRule.name,
      arn: scheduleArn,
      scheduleExpression: p.scheduleRule.scheduleExpression,
      state: 'ENABLED'
    },
    deadLetterQueue: { url: queueUrl(p.deadLetterQueue.name) },
    queue: { url: queueUrl(p.queue.name), arn: qArn, attributes: { ...queueAttributes(p.queue, ids), QueueArn: qArn } },
    eventSourceMapping: {
      uuid: 'esm-1',
      eventSourceArn: qArn,
      batchSize: p.eventSourceMapping.batchSize,
      batchingWindowSeconds: p.eventSourceMapping.batchingWindowSeconds,
      maximumConcurrency: p.eventSourceMapping.maximumConcurrency,
      reportsBatchItemFailures: true,
      state: 'Enabled'
    },
    targets: p.targets.map((t) => ({ rule: t.ruleName, id: t.id, arn: qArn })),
    containerLogGroup: { name: desired.containerLogGroup.name, retentionDays: desired.containerLogGroup.retentionDays },
    instanceRoles: services.map((s) => s.role),
    instanceProfiles: services.map((s) => s.profile),
    configs: services.map((s) => s.config),
    securityGroups: services.map((s) => s.sg),
    launchTemplates: services.map((s) => s.lt),
    asgs: services.flatMap((s) => s.asgs),
    records: [],
    recordsRead: false
  }
}

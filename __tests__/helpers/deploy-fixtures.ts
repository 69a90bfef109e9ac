/** Shared fixtures for the deploy engine's tests: inputs, models, and a current state that equals a desired one. */
import type { ComposeModel, ServiceModel } from '../../src/compose/model.js'
import { buildDesired } from '../../src/desired.js'
import { asgConfigHash, maxSize } from '../../src/resources/auto-scaling-group.js'
import { functionEnvironment } from '../../src/resources/lambda-function.js'
import { launchTemplateHash } from '../../src/resources/launch-template.js'
import { logGroupArn } from '../../src/resources/log-group.js'
import { rolePolicyDocument } from '../../src/resources/role-policy.js'
import { ingressHash } from '../../src/resources/security-group.js'
import type { ActionInputs } from '../../src/inputs.js'
import { PERMISSION_STATEMENT_ID, TAGS } from '../../src/names.js'
import type { CurrentState, DesiredState, Network } from '../../src/state.js'

export const ACCOUNT = '123456789012'
export const ZONE_ID = 'Z0EXAMPLE'
export const network: Network = { vpcId: 'vpc-1', vpcCidr: '172.28.0.0/16', subnetIds: ['subnet-b', 'subnet-a'], resolver: '172.28.0.2' }
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
    dnsTtl: 60,
    wait: false,
    waitTimeout: 300,
    logRetentionDays: 14,
    allowForks: false,
    ...overrides
  }
}

export function svc(name: string, overrides: Partial<ServiceModel> = {}): ServiceModel {
  return {
    name,
    image: `${name}:1`,
    environment: { A: '1' },
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
      svc('db', { image: 'mysql:5.7', ports: [{ target: 3306, published: 3306, protocol: 'tcp' }], environment: { MYSQL_PASSWORD: 'password' } }),
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

/** What AWS would show right after `desired` was applied (one instance per wanted slot). */
export function currentFrom(desired: DesiredState): CurrentState {
  const p = desired.project
  const scope = desired.scope
  const fnArn = `arn:aws:lambda:${scope.region}:${ACCOUNT}:function:${p.function.name}`
  const ruleArn = `arn:aws:events:${scope.region}:${ACCOUNT}:rule/${p.rule.name}`
  const lgArn = logGroupArn({ partition: 'aws', region: scope.region, accountId: ACCOUNT, name: p.logGroup.name })
  let n = 0
  const services = desired.services.map((s) => {
    const sgId = `sg-${s.name}`
    const ltId = `lt-${s.name}`
    return {
      sg: { id: sgId, name: s.securityGroup.name, vpcId: network.vpcId, service: s.name, ingress: s.securityGroup.ingress, configHash: ingressHash(s.securityGroup.ingress) },
      lt: { id: ltId, name: s.launchTemplate.name, service: s.name, defaultVersion: 3, latestVersion: 3, configHash: launchTemplateHash(s.launchTemplate.spec, sgId), image: s.image, instanceType: s.launchTemplate.spec.instanceType },
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
        ...(a.capacity === 'spot' ? { onDemandBase: 0, onDemandPercent: 0, spotStrategy: 'price-capacity-optimized' } : {}),
        capacityRebalance: a.capacity === 'spot',
        subnetIds: [...a.subnetIds].sort(),
        instances: Array.from({ length: a.size }, () => ({ id: `i-${(n += 1)}`, lifecycleState: 'InService', healthStatus: 'Healthy' })),
        tags: { ...a.tags, [TAGS.configHash]: asgConfigHash(a) }
      }))
    }
  })
  return {
    scope,
    accountId: ACCOUNT,
    partition: 'aws',
    zone: { id: ZONE_ID, name: p.zone.name },
    rolePolicy: { roleName: p.role.name, policyName: p.rolePolicy.policyName, document: rolePolicyDocument({ partition: 'aws', zoneId: ZONE_ID, logGroupArn: lgArn }) },
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
    permission: { statementId: PERMISSION_STATEMENT_ID, principal: 'events.amazonaws.com', action: 'lambda:InvokeFunction', sourceArn: ruleArn },
    rule: { name: p.rule.name, arn: ruleArn, eventPattern: p.rule.eventPattern, state: 'ENABLED' },
    targets: [{ id: p.target.id, arn: fnArn }],
    securityGroups: services.map((s) => s.sg),
    launchTemplates: services.map((s) => s.lt),
    asgs: services.flatMap((s) => s.asgs),
    records: [],
    recordsRead: false
  }
}

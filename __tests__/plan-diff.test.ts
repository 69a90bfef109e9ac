/** The pure diff: noops when nothing changed, the smallest change otherwise, with reasons and drift flags. */
import { KINDS } from '../src/resources/index.js'
import { countWrites, destroyPlan, diff, summarizePlan } from '../src/plan.js'
import type { Change, CurrentState } from '../src/state.js'
import { PREVIOUS_EVENT_PATTERN, LAUNCHES_EVENT_PATTERN } from '../src/resources/event-rule.js'
import { groupTags } from '../src/resources/auto-scaling-group.js'
import { currentFrom, desiredFor, svc, wordpress } from './helpers/deploy-fixtures.js'

const active = (changes: Change[]): string[] =>
  changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.kind} ${c.name}`)

describe('diff', () => {
  test('an unchanged stack plans only noops, one per resource, and counts zero writes', () => {
    const desired = desiredFor()
    const plan = diff(desired, currentFrom(desired))
    expect(active(plan.changes)).toEqual([])
    expect(countWrites(plan)).toBe(0)
    // project level: zone and its SOA, role and policy, log group, function, the two rules, the two queues,
    // the two rule targets, the event source mapping; the zone's association with the stack's VPC;
    // per service: group, template, 2 ASGs, record
    expect(plan.changes).toHaveLength(13 + 2 + 2 * 8)
    expect(summarizePlan(plan).noop).toBe(31)
  })

  test('an empty account plans a create for every resource and no instance refresh', () => {
    const desired = desiredFor()
    const empty: CurrentState = {
      scope: desired.scope,
      targets: [],
      securityGroups: [],
      launchTemplates: [],
      asgs: [],
      records: []
    }
    const plan = diff(desired, empty)
    const creates = plan.changes.filter((c) => c.action === 'create').map((c) => c.kind)
    expect(creates).toEqual(
      expect.arrayContaining([
        'hosted-zone',
        'iam-role',
        'role-policy',
        'log-group',
        'lambda-function',
        'event-rule',
        'schedule-rule',
        'dead-letter-queue',
        'event-queue',
        'event-target',
        'event-source-mapping'
      ])
    )
    expect(creates.filter((k) => k === 'auto-scaling-group')).toHaveLength(4)
    expect(plan.changes.some((c) => c.kind === 'instance-refresh')).toBe(false)
    expect(plan.changes.every((c) => c.drift !== true)).toBe(true)
  })

  test('more replicas only resize the ASG, with the counts in the reason', () => {
    const before = desiredFor()
    const model = wordpress()
    model.services[1] = { ...model.services[1]!, replicas: 3 }
    const plan = diff(desiredFor(model), currentFrom(before))
    const changed = plan.changes.filter((c) => c.action !== 'noop')
    expect(changed.map((c) => `${c.kind} ${c.name}`)).toEqual([
      'auto-scaling-group hyperform-prj-demo-st-wordpress-wordpress-on-demand'
    ])
    expect(changed[0]?.reason).toBe('on-demand 1 -> 2')
    expect(changed[0]?.fields).toEqual(['size'])
    expect(changed[0]?.drift).toBe(false)
  })

  test('a new image makes a new template version, points both ASGs at it and refreshes the ones with instances', () => {
    const before = desiredFor()
    const model = wordpress()
    model.services[1] = { ...model.services[1]!, image: 'wordpress:6.6' }
    const plan = diff(desiredFor(model), currentFrom(before))
    expect(active(plan.changes)).toEqual([
      // the image lives in the service's configuration: a new version of it, read by a new template version
      'update service-config /hyperform/prj-demo/st-wordpress/wordpress/config',
      'update launch-template hyperform-prj-demo-st-wordpress-wordpress',
      'update auto-scaling-group hyperform-prj-demo-st-wordpress-wordpress-on-demand',
      'update auto-scaling-group hyperform-prj-demo-st-wordpress-wordpress-spot',
      'create instance-refresh hyperform-prj-demo-st-wordpress-wordpress-on-demand',
      'create instance-refresh hyperform-prj-demo-st-wordpress-wordpress-spot'
    ])
    expect(plan.changes.find((c) => c.kind === 'launch-template' && c.action === 'update')?.reason).toContain(
      'image wordpress:latest -> wordpress:6.6'
    )
  })

  test('a template made before instance metadata tags were enabled gets a new version once, and the reason says why', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    // as an older action left it: another hash (the data had no InstanceMetadataTags) and no hyperform:metadata-tags
    current.launchTemplates = current.launchTemplates.map(({ metadataTags: _enabled, ...t }) => ({
      ...t,
      configHash: 'older'
    }))
    const plan = diff(desired, current)
    const templates = plan.changes.filter((c) => c.kind === 'launch-template')
    expect(templates.map((c) => c.action)).toEqual(['update', 'update'])
    for (const c of templates) expect(c.reason).toContain('instance metadata tags enabled')
    expect(templates.every((c) => c.drift !== true)).toBe(true)
    // made once: the next plan, against the template as the action tags it, has nothing to do
    expect(
      diff(desired, currentFrom(desired)).changes.filter((c) => c.kind === 'launch-template' && c.action !== 'noop')
    ).toEqual([])
  })

  test('an environment change also makes a new template version, since the user data changes', () => {
    const before = desiredFor()
    const model = wordpress()
    model.services[0] = { ...model.services[0]!, environment: { MYSQL_PASSWORD: 'other' } }
    const plan = diff(desiredFor(model), currentFrom(before))
    const lt = plan.changes.find((c) => c.kind === 'launch-template' && c.service === 'db')
    expect(lt?.action).toBe('update')
    expect(lt?.reason).not.toContain('other')
  })

  test('a service no longer in the compose file has its ASGs, template, group and record deleted', () => {
    const before = desiredFor()
    const model = wordpress()
    model.services = model.services.filter((s) => s.name !== 'db')
    const plan = diff(desiredFor(model), currentFrom(before))
    const deletes = plan.changes.filter((c) => c.action === 'delete')
    expect(deletes.map((c) => `${c.kind} ${c.name}`)).toEqual([
      'auto-scaling-group hyperform-prj-demo-st-wordpress-db-on-demand',
      'auto-scaling-group hyperform-prj-demo-st-wordpress-db-spot',
      'service-config /hyperform/prj-demo/st-wordpress/db/config',
      'launch-template hyperform-prj-demo-st-wordpress-db',
      'instance-profile hyperform-prj-demo-st-wordpress-db-us-east-1',
      'instance-role hyperform-prj-demo-st-wordpress-db-us-east-1',
      'security-group hyperform-prj-demo-st-wordpress-db',
      'dns-record db.st-wordpress.prj-demo.us-east-1.internal'
    ])
    expect(deletes.every((c) => c.reason.startsWith('not in compose file'))).toBe(true)
  })

  test('a port opened by hand is drift and is revoked; a new port in the compose file is not drift', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.securityGroups[0]!.ingress = [
      ...current.securityGroups[0]!.ingress,
      { protocol: 'tcp', fromPort: 22, toPort: 22, cidr: '0.0.0.0/0' }
    ]
    const drifted = diff(desired, current).changes.find((c) => c.kind === 'security-group' && c.service === 'db')
    expect(drifted).toMatchObject({ action: 'update', drift: true })
    expect(drifted?.reason).toContain('-tcp:00022-00022:0.0.0.0/0')
    const model = wordpress()
    model.services[0] = { ...model.services[0]!, expose: [{ port: 33060, protocol: 'tcp' }] }
    const intended = diff(desiredFor(model), currentFrom(desired)).changes.find(
      (c) => c.kind === 'security-group' && c.service === 'db'
    )
    expect(intended).toMatchObject({ action: 'update', drift: false })
  })

  test('an ASG resized by hand is drift; one pointed at another template version is drift with a refresh', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.asgs[0] = { ...current.asgs[0]!, desired: 4, max: 4 }
    current.asgs[1] = { ...current.asgs[1]!, launchTemplateVersion: '2' }
    const plan = diff(desired, current)
    expect(plan.changes.find((c) => c.name === current.asgs[0]!.name && c.kind === 'auto-scaling-group')).toMatchObject(
      { action: 'update', drift: true, fields: ['size'] }
    )
    expect(plan.changes.find((c) => c.name === current.asgs[1]!.name && c.kind === 'auto-scaling-group')).toMatchObject(
      { action: 'update', drift: true, fields: ['launchTemplate'] }
    )
  })

  test('a spot group made with only its primary type gets the derived types once, as an intended update without a refresh', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    const i = current.asgs.findIndex((g) => g.capacity === 'spot' && g.service === 'wordpress')
    const spot = desired.services.find((s) => s.name === 'wordpress')!.asgs.find((a) => a.capacity === 'spot')!
    expect(spot.instanceTypes.length).toBeGreaterThan(1)
    const old = { ...spot, instanceTypes: spot.instanceTypes.slice(0, 1) }
    current.asgs[i] = { ...current.asgs[i]!, instanceTypes: old.instanceTypes, tags: groupTags(old) }
    const plan = diff(desired, current)
    expect(plan.changes.find((c) => c.name === spot.name && c.kind === 'auto-scaling-group')).toMatchObject({
      action: 'update',
      drift: false,
      fields: ['instanceTypes'],
      reason: `instanceTypes ${spot.instanceTypes[0]} -> ${spot.instanceTypes.join(', ')}`
    })
    expect(plan.changes.filter((c) => c.kind === 'instance-refresh')).toEqual([])
  })

  test('removed rule targets are planned back as drift, both pointing at the queue', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.targets = []
    const targets = diff(desired, current).changes.filter((c) => c.kind === 'event-target')
    expect(targets.map((c) => [c.name, c.action, c.drift])).toEqual([
      [`${desired.project.rule.name}/update-r53-record`, 'create', true],
      [`${desired.project.scheduleRule.name}/update-r53-record`, 'create', true]
    ])
  })

  test('a rule that still targets the function (an earlier version) moves to the queue, and its invoke permission goes, neither as drift', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    const fnArn = current.function?.arn ?? ''
    current.targets = current.targets.map((t) => (t.rule === desired.project.rule.name ? { ...t, arn: fnArn } : t))
    const plan = diff(desired, current)
    expect(
      plan.changes.find((c) => c.kind === 'event-target' && c.name.startsWith(`${desired.project.rule.name}/`))
    ).toMatchObject({ action: 'update', reason: 'to the queue (was the function)', drift: false })
    expect(plan.changes.find((c) => c.kind === 'lambda-permission')).toMatchObject({
      action: 'delete',
      name: `${desired.project.function.name}/hyperform-events-invoke`
    })
    expect(plan.changes.filter((c) => c.drift)).toEqual([])
  })

  test('new Lambda code is an update of the function with the code flagged, nothing else', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.function = { ...current.function!, codeSha256: 'old' }
    const changed = diff(desired, current).changes.filter((c) => c.action !== 'noop')
    expect(changed).toHaveLength(1)
    expect(changed[0]).toMatchObject({ kind: 'lambda-function', action: 'update', fields: ['code'], codeChanged: true })
  })

  test('a role policy that lost its zone scope is rewritten as drift', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.rolePolicy = {
      ...current.rolePolicy!,
      document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'route53:*', Resource: '*' }] }
    }
    expect(diff(desired, current).changes.find((c) => c.kind === 'role-policy')).toMatchObject({
      action: 'update',
      drift: true
    })
  })

  test('a rule with the pattern of earlier versions (EC2 state changes only) gets the new one, as an upgrade, then is a noop', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.rule = { ...current.rule!, eventPattern: PREVIOUS_EVENT_PATTERN }
    const change = diff(desired, current).changes.find((c) => c.kind === 'event-rule')
    expect(change).toMatchObject({ action: 'update', fields: ['eventPattern'] })
    expect(change?.reason).toContain('EC2 Instance Launch Successful')
    expect(change?.drift).toBeUndefined()
    expect(change?.action === 'update' && JSON.parse(change.desired.eventPattern)).toEqual({
      source: ['aws.ec2', 'aws.autoscaling'],
      'detail-type': [
        'EC2 Instance State-change Notification',
        'EC2 Instance Launch Successful',
        'EC2 Spot Instance Interruption Warning',
        'EC2 Instance Rebalance Recommendation'
      ]
    })
    // the version before the spot warnings: an upgrade too
    const launches = currentFrom(desired)
    launches.rule = { ...launches.rule!, eventPattern: LAUNCHES_EVENT_PATTERN }
    const gains = diff(desired, launches).changes.find((c) => c.kind === 'event-rule')
    expect([gains?.action, gains?.reason, gains?.drift]).toEqual([
      'update',
      'eventPattern gains the spot interruption warning and the rebalance recommendation',
      undefined
    ])
    // as AWS returns it after the PutRule: the plan of the re-run is a noop
    const after = currentFrom(desired)
    expect(diff(desired, after).changes.find((c) => c.kind === 'event-rule')).toMatchObject({ action: 'noop' })
  })

  test('any other pattern is put back as drift', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.rule = { ...current.rule!, eventPattern: '{"source":["aws.ec2"]}' }
    expect(diff(desired, current).changes.find((c) => c.kind === 'event-rule')).toMatchObject({
      action: 'update',
      fields: ['eventPattern'],
      reason: 'eventPattern differs',
      drift: true
    })
  })

  test('role policies of earlier versions (no group member reads, no spot warnings) are upgraded, not drift', () => {
    const desired = desiredFor()
    const lacking = (sids: string[]): ReturnType<typeof currentFrom> => {
      const current = currentFrom(desired)
      const document = current.rolePolicy!.document as { Statement: { Sid?: string }[] }
      current.rolePolicy = {
        ...current.rolePolicy!,
        document: { ...document, Statement: document.Statement.filter((s) => !sids.includes(s.Sid ?? '')) }
      }
      return current
    }
    const spot = ['MarkWarnedInstancesLeaving', 'ReplaceInstancesWarnedOfReclaim']
    const change = diff(desired, lacking(['ReadGroupMembers', ...spot])).changes.find((c) => c.kind === 'role-policy')
    expect(change).toMatchObject({ action: 'update', fields: ['document'] })
    expect(change?.reason).toContain('the group reads and the spot warnings')
    expect(change?.drift).toBeUndefined()
    const before = diff(desired, lacking(spot)).changes.find((c) => c.kind === 'role-policy')
    expect([before?.reason, before?.drift]).toEqual([
      'policy document gains ec2:CreateTags and autoscaling:EnterStandby (spot warnings)',
      undefined
    ])
    // lacking a statement no version lacked: drift
    expect(diff(desired, lacking(['WriteRecords'])).changes.find((c) => c.kind === 'role-policy')?.drift).toBe(true)
    expect(diff(desired, currentFrom(desired)).changes.find((c) => c.kind === 'role-policy')).toMatchObject({
      action: 'noop'
    })
  })

  test('a disabled rule is re-enabled as drift', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.rule = { ...current.rule!, state: 'DISABLED' }
    expect(diff(desired, current).changes.find((c) => c.kind === 'event-rule')).toMatchObject({
      action: 'update',
      fields: ['state'],
      drift: true
    })
  })

  test('a new TTL input updates the function environment', () => {
    const before = desiredFor()
    const plan = diff(desiredFor(wordpress(), { dnsTtl: 30 }), currentFrom(before))
    expect(plan.changes.find((c) => c.kind === 'lambda-function')).toMatchObject({
      action: 'update',
      fields: ['environment']
    })
  })

  test('a security group in another VPC stops the plan with a clear error', () => {
    const desired = desiredFor()
    const current = currentFrom(desired)
    current.securityGroups[0] = { ...current.securityGroups[0]!, vpcId: 'vpc-other' }
    expect(() => diff(desired, current)).toThrow(/is in vpc-other but the stack now deploys to vpc-1/)
  })
})

describe('destroyPlan', () => {
  const scope = { project: 'prj-demo', stack: 'st-wordpress', region: 'us-east-1' }

  test('the last stack deletes its resources and the whole project DNS stack, zone last', () => {
    const current = { ...currentFrom(desiredFor()), otherStacks: [] }
    const plan = destroyPlan(current, scope)
    expect(plan.changes.every((c) => c.action === 'delete')).toBe(true)
    expect(plan.changes.at(-1)?.kind).toBe('hosted-zone')
    expect(plan.changes.filter((c) => c.kind === 'auto-scaling-group')).toHaveLength(4)
    expect(plan.changes.map((c) => c.kind)).toEqual(
      expect.arrayContaining(['iam-role', 'lambda-function', 'event-rule', 'log-group'])
    )
  })

  test('another stack of the project keeps the project DNS stack as noops naming that stack', () => {
    const current = { ...currentFrom(desiredFor()), otherStacks: ['pr-7'] }
    // the project DNS stack; the zone's association with this stack's VPC and its log group are the stack's own
    const project = destroyPlan(current, scope).changes.filter((c) => KINDS[c.kind].level === 'project')
    expect(project.length).toBeGreaterThan(0)
    expect(project.every((c) => c.action === 'noop' && c.reason.includes('pr-7'))).toBe(true)
  })

  test('when other stacks were not looked up, project deletes are left to a check at apply time', () => {
    const project = destroyPlan(currentFrom(desiredFor()), scope).changes.filter(
      (c) => KINDS[c.kind].level === 'project'
    )
    expect(project.every((c) => c.action === 'delete' && c.onlyIfLastStack === true)).toBe(true)
  })

  test('destroying a stack that is already gone plans nothing', () => {
    const empty: CurrentState = {
      scope,
      targets: [],
      securityGroups: [],
      launchTemplates: [],
      asgs: [],
      records: [],
      otherStacks: []
    }
    expect(destroyPlan(empty, scope).changes).toEqual([])
  })

  test('records read from the zone are deleted with their exact values', () => {
    const current = {
      ...currentFrom(desiredFor()),
      otherStacks: [],
      recordsRead: true,
      records: [{ name: 'db.st-wordpress.prj-demo.us-east-1.internal', type: 'A', ttl: 60, values: ['172.28.3.90'] }]
    }
    const record = destroyPlan(current, scope).changes.find((c) => c.kind === 'dns-record')
    expect(record).toMatchObject({ action: 'delete', current: { values: ['172.28.3.90'], ttl: 60 } })
  })
})

test('two services in the plan are independent: a change to one leaves the other all noop', () => {
  const model = { services: [svc('a'), svc('b')], files: [] }
  const before = desiredFor(model)
  const after = desiredFor({ services: [svc('a', { image: 'a:2' }), svc('b')], files: [] })
  const plan = diff(after, currentFrom(before))
  expect(plan.changes.filter((c) => c.service === 'b').every((c) => c.action === 'noop')).toBe(true)
})

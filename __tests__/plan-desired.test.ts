/** buildDesired: the desired state as plain data, from the compose model and the inputs. */
import { eventPattern, imageIdFor, isArm } from '../src/desired.js'
import { canonicalJson } from '../src/json.js'
import { launchTemplateData, launchTemplateHash } from '../src/resources/launch-template.js'
import { rolePolicyDocument } from '../src/resources/role-policy.js'
import { TAGS } from '../src/names.js'
import { desiredFor, svc, wordpress } from './helpers/deploy-fixtures.js'

describe('buildDesired', () => {
  const desired = desiredFor()
  const db = desired.services.find((s) => s.name === 'db')!
  const wp = desired.services.find((s) => s.name === 'wordpress')!

  test('ASG sizes follow replicas and preemptible: on-demand = replicas - preemptible, spot = preemptible', () => {
    expect(db.asgs.map((a) => [a.capacity, a.size])).toEqual([
      ['on-demand', 1],
      ['spot', 0]
    ])
    expect(wp.asgs.map((a) => [a.capacity, a.size])).toEqual([
      ['on-demand', 1],
      ['spot', 1]
    ])
  })

  test('both ASGs use every chosen subnet and carry the service tags plus their capacity', () => {
    for (const asg of wp.asgs) {
      expect(asg.subnetIds).toEqual(['subnet-a', 'subnet-b'])
      expect(asg.tags).toMatchObject({
        [TAGS.project]: 'prj-demo',
        [TAGS.stack]: 'st-wordpress',
        [TAGS.service]: 'wordpress',
        [TAGS.capacity]: asg.capacity
      })
    }
  })

  test('spot overrides are the service type plus the extra types of the same architecture', () => {
    expect(wp.asgs[1]?.instanceTypes).toEqual(['t3.small', 't3a.small'])
    const arm = desiredFor({ services: [svc('a', { size: 't4g.small', preemptible: 1 })], files: [] }).services[0]!
    expect(arm.asgs[1]?.instanceTypes).toEqual(['t4g.small', 'm7g.medium'])
    expect(wp.asgs[0]?.instanceTypes).toEqual([])
  })

  test('published ports are open to the VPC CIDR, or anywhere only with deploy.public; target and exposed ports are VPC only', () => {
    expect(db.securityGroup.ingress).toEqual([{ protocol: 'tcp', fromPort: 3306, toPort: 3306, cidr: '172.28.0.0/16' }])
    const pub = desiredFor({
      services: [
        svc('web', {
          public: true,
          ports: [{ target: 80, published: 8080, protocol: 'tcp' }],
          expose: [{ port: 9090, protocol: 'udp' }]
        })
      ],
      files: []
    }).services[0]!
    expect(pub.securityGroup.ingress).toEqual([
      { protocol: 'tcp', fromPort: 80, toPort: 80, cidr: '172.28.0.0/16' },
      { protocol: 'tcp', fromPort: 8080, toPort: 8080, cidr: '0.0.0.0/0' },
      { protocol: 'udp', fromPort: 9090, toPort: 9090, cidr: '172.28.0.0/16' }
    ])
  })

  test('no security group is open to 0.0.0.0/0 without deploy.public', () => {
    const all = desired.services.flatMap((s) => s.securityGroup.ingress)
    expect(all.some((r) => r.cidr === '0.0.0.0/0')).toBe(false)
  })

  test('the AMI is the AL2023 SSM parameter for the architecture unless the ami input is set', () => {
    expect(db.launchTemplate.spec.imageId).toBe(
      'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64'
    )
    expect(imageIdFor('m7g.large', undefined)).toBe(
      'resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64'
    )
    expect(desiredFor(wordpress(), { ami: 'ami-0123' }).services[0]?.launchTemplate.spec.imageId).toBe('ami-0123')
    expect(['t4g.nano', 'c7gn.large', 'x2gd.xlarge', 'a1.medium', 'im4gn.large'].every(isArm)).toBe(true)
    expect(['t3.small', 'm5zn.large', 'g4dn.xlarge', 'c7i.large'].some(isArm)).toBe(false)
  })

  test('deploy.size overrides the instance-type input', () => {
    const sized = desiredFor({ services: [svc('a', { size: 'm6i.large' })], files: [] }).services[0]!
    expect(sized.launchTemplate.spec.instanceType).toBe('m6i.large')
    expect(db.launchTemplate.spec.instanceType).toBe('t3.small')
  })

  test('every launch template requires IMDSv2 with a hop limit of 1, names the instance profile and tags instances', () => {
    const data = launchTemplateData(db.launchTemplate.spec, { securityGroupId: 'sg-1', configVersion: 4 }) as {
      MetadataOptions: unknown
      IamInstanceProfile: unknown
      SecurityGroupIds: string[]
      TagSpecifications: Array<{ ResourceType: string; Tags: Array<{ Key: string }> }>
    }
    expect(data.MetadataOptions).toEqual({
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      HttpPutResponseHopLimit: 1,
      InstanceMetadataTags: 'enabled'
    })
    // With tags in the instance metadata, EC2 fails a launch whose instance tag keys hold other characters.
    for (const spec of data.TagSpecifications)
      for (const { Key } of spec.Tags) expect(Key).toMatch(/^(?!\.{1,2}$|_index$)[A-Za-z0-9+\-=.,_:@]+$/)
    expect(data.IamInstanceProfile).toEqual({ Name: db.instanceProfile.name })
    expect(data.SecurityGroupIds).toEqual(['sg-1'])
    expect(data.TagSpecifications.find((t) => t.ResourceType === 'instance')?.Tags.map((t) => t.Key)).toEqual(
      expect.arrayContaining([TAGS.project, TAGS.stack, TAGS.service])
    )
  })

  test('a service that opts into AWS credentials gets a hop limit of 2, so its container reaches the metadata service', () => {
    const opted = desiredFor({ services: [svc('app', { awsCredentials: true })], files: [] }).services[0]!
    expect(opted.launchTemplate.spec.hopLimit).toBe(2)
    expect(db.launchTemplate.spec.hopLimit).toBe(1)
  })

  test('the template hash changes with the data, the security group and the configuration version, and only with them', () => {
    const at = (securityGroupId: string, configVersion = 1) => ({ securityGroupId, configVersion })
    const again = desiredFor().services[0]!
    expect(launchTemplateHash(again.launchTemplate.spec, at('sg-1'))).toBe(
      launchTemplateHash(db.launchTemplate.spec, at('sg-1'))
    )
    expect(launchTemplateHash(db.launchTemplate.spec, at('sg-2'))).not.toBe(
      launchTemplateHash(db.launchTemplate.spec, at('sg-1'))
    )
    expect(launchTemplateHash(db.launchTemplate.spec, at('sg-1', 2))).not.toBe(
      launchTemplateHash(db.launchTemplate.spec, at('sg-1'))
    )
    // The image lives in the configuration, not in the template: the configuration version carries it.
    const other = desiredFor({ services: [svc('db', { image: 'mysql:8' })], files: [] }).services[0]!
    expect(launchTemplateHash(other.launchTemplate.spec, at('sg-1'))).toBe(
      launchTemplateHash(db.launchTemplate.spec, at('sg-1'))
    )
    expect(other.config.hash).not.toBe(db.config.hash)
  })

  test('the function runs nodejs22.x with the environment the DNS updater reads', () => {
    const fn = desired.project.function
    expect(fn.runtime).toBe('nodejs22.x')
    expect(fn.handler).toBe('index.handler')
    expect(fn.environment).toEqual({ PROJECT: 'prj-demo', ZONE_NAME: 'prj-demo.us-east-1.internal', RECORD_TTL: '60' })
    expect(fn.name).toBe('update_r53_record-prj-demo')
  })

  test('the role policy allows record changes on its own zone only and logs on its own log group only', () => {
    const doc = rolePolicyDocument({
      partition: 'aws',
      project: 'prj-demo',
      zoneId: '/hostedzone/Z123',
      logGroupArn: 'arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f',
      queueArn: 'arn:aws:sqs:us-east-1:1:f'
    }) as {
      Statement: Array<{ Action: string[]; Resource: string }>
    }
    const r53 = doc.Statement.find((s) => s.Action.includes('route53:ChangeResourceRecordSets'))
    expect(r53?.Resource).toBe('arn:aws:route53:::hostedzone/Z123')
    expect(doc.Statement.find((s) => s.Action.includes('logs:PutLogEvents'))?.Resource).toBe(
      'arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*'
    )
    expect(doc.Statement.find((s) => s.Action.includes('sqs:ReceiveMessage'))?.Resource).toBe(
      'arn:aws:sqs:us-east-1:1:f'
    )
    expect(doc.Statement.flatMap((s) => s.Action).some((a) => a.endsWith('*') || a === 'logs:CreateLogGroup')).toBe(
      false
    )
    // which instances are in service: no resource-level permission exists for it
    expect(doc.Statement.find((s) => s.Action.includes('autoscaling:DescribeAutoScalingInstances'))).toEqual({
      Sid: 'ReadGroupMembers',
      Effect: 'Allow',
      Action: ['autoscaling:DescribeAutoScalingInstances'],
      Resource: '*'
    })
  })

  test('the rule pattern is canonical JSON for EC2 state changes, Auto Scaling launches and the spot warnings, so a re-run compares equal', () => {
    expect(desired.project.rule.eventPattern).toBe(eventPattern())
    expect(JSON.parse(eventPattern())).toEqual({
      'detail-type': [
        'EC2 Instance State-change Notification',
        'EC2 Instance Launch Successful',
        'EC2 Spot Instance Interruption Warning',
        'EC2 Instance Rebalance Recommendation'
      ],
      source: ['aws.ec2', 'aws.autoscaling']
    })
    expect(eventPattern()).toBe(
      '{"detail-type":["EC2 Instance State-change Notification","EC2 Instance Launch Successful","EC2 Spot Instance Interruption Warning","EC2 Instance Rebalance Recommendation"],"source":["aws.ec2","aws.autoscaling"]}'
    )
    expect(canonicalJson(JSON.parse(JSON.stringify({ b: 1, a: { d: 1, c: 2 } })))).toBe('{"a":{"c":2,"d":1},"b":1}')
  })

  test('the record names carry the region, as the zone and search list do', () => {
    expect(db.recordName).toBe('db.st-wordpress.prj-demo.us-east-1.internal')
    expect(desired.project.zone.name).toBe('prj-demo.us-east-1.internal')
  })

  test('services come out sorted by name whatever the model order', () => {
    const out = desiredFor({ services: [svc('zeta'), svc('alpha')], files: [] })
    expect(out.services.map((s) => s.name)).toEqual(['alpha', 'zeta'])
  })
})

/**
 * A minimal instance metadata service (IMDSv2) per instance, at /_emulator/imds/<instance-id>
 * followed by IMDS's own paths: `PUT /latest/api/token` with X-aws-ec2-metadata-token-ttl-seconds
 * (1..21600) answers a session token; GETs with X-aws-ec2-metadata-token read the instance's
 * metadata and its role's credentials (iam-policy/instance-role.ts). Without a valid token a GET
 * is 401, unless the instance allows IMDSv1 (MetadataOptions.HttpTokens optional). Point an SDK
 * or the AWS CLI at it with AWS_EC2_METADATA_SERVICE_ENDPOINT=<endpoint>/_emulator/imds/<instance-id>.
 */
import { randomBytes } from 'node:crypto'
import type { EmulatorResponse } from '../../types.js'
import { registerRawRoutes } from '../../core/hooks.js'
import { instanceRoleCredentials } from '../../iam-policy/instance-role.js'
import type { Ec2World, InstanceRecord } from './model.js'

export const IMDS_PREFIX = '/_emulator/imds/'

const MAX_TTL_SECONDS = 21600

function text(status: number, body: string, headers: Record<string, string> = {}): EmulatorResponse {
  return { status, headers: { 'content-type': 'text/plain', ...headers }, body }
}

/** IMDS's timestamps: seconds precision, Z. */
function iso(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** A directory listing: one entry a line. */
function listing(entries: string[]): EmulatorResponse {
  return text(200, entries.join('\n'))
}

export function registerImds(world: Ec2World): void {
  const tokens = new Map<string, { instanceId: string; expiresAt: number }>()

  const metadata = (i: InstanceRecord, path: string): EmulatorResponse => {
    const profile = i.iamInstanceProfile
    const creds = () =>
      instanceRoleCredentials(world.cloud, {
        instanceId: i.instanceId,
        region: i.region,
        ...(profile ? { profile: { Arn: profile.arn } } : {})
      })
    const fixed: Record<string, string | undefined> = {
      'meta-data/instance-id': i.instanceId,
      'meta-data/ami-id': i.imageId,
      'meta-data/instance-type': i.instanceType,
      'meta-data/local-ipv4': i.privateIpAddress,
      'meta-data/public-ipv4': i.publicIpAddress,
      'meta-data/placement/region': i.region,
      'meta-data/placement/availability-zone': i.availabilityZone,
      'meta-data/hostname': i.privateIpAddress
        ? `ip-${i.privateIpAddress.replace(/\./g, '-')}.ec2.internal`
        : undefined,
      'meta-data/mac': '0e:00:00:00:00:01'
    }
    // spot signals (EC2 User Guide): 404 until EC2 sent one
    if (path === 'meta-data/spot/instance-action')
      return i.spotInstanceAction ? text(200, JSON.stringify(i.spotInstanceAction)) : text(404, 'Not Found')
    if (path === 'meta-data/events/recommendations/rebalance')
      return i.rebalanceNoticeTime
        ? text(200, JSON.stringify({ noticeTime: i.rebalanceNoticeTime }))
        : text(404, 'Not Found')
    if (path in fixed) {
      const v = fixed[path]
      return v === undefined ? text(404, 'Not Found') : text(200, v)
    }
    if (path === 'meta-data' || path === 'meta-data/')
      return listing(
        [
          ...Object.keys(fixed).map(
            (k) => k.slice('meta-data/'.length).split('/')[0] + (k.split('/').length > 2 ? '/' : '')
          ),
          ...(profile ? ['iam/'] : [])
        ].filter((v, n, a) => a.indexOf(v) === n)
      )
    if (path === 'user-data')
      return i.data.UserData
        ? text(200, Buffer.from(i.data.UserData, 'base64').toString('utf8'))
        : text(404, 'Not Found')
    if (path === 'dynamic/instance-identity/document')
      return {
        status: 200,
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify(
          {
            accountId: world.cloud.accountId,
            architecture: 'x86_64',
            availabilityZone: i.availabilityZone,
            imageId: i.imageId,
            instanceId: i.instanceId,
            instanceType: i.instanceType,
            pendingTime: iso(new Date(i.launchTime)),
            privateIp: i.privateIpAddress,
            region: i.region,
            version: '2017-09-30'
          },
          null,
          2
        )
      }
    if (path.startsWith('meta-data/tags/instance')) {
      if (i.data.MetadataOptions?.InstanceMetadataTags !== 'enabled') return text(404, 'Not Found')
      const key = path.slice('meta-data/tags/instance/'.length)
      if (!key) return listing(Object.keys(i.tags))
      const value = i.tags[key]
      return value === undefined ? text(404, 'Not Found') : text(200, value)
    }
    if (!path.startsWith('meta-data/iam')) return text(404, 'Not Found')
    if (!profile) return text(404, 'Not Found')
    const c = creds()
    if (path === 'meta-data/iam' || path === 'meta-data/iam/') return listing(['info', 'security-credentials/'])
    if (path === 'meta-data/iam/info') {
      if (!c) return text(404, 'Not Found')
      const body = {
        Code: 'Success',
        LastUpdated: iso(c.LastUpdated),
        InstanceProfileArn: c.InstanceProfileArn,
        InstanceProfileId: c.InstanceProfileId
      }
      return text(200, JSON.stringify(body, null, 2))
    }
    if (path === 'meta-data/iam/security-credentials' || path === 'meta-data/iam/security-credentials/')
      return c ? text(200, c.RoleName) : text(404, 'Not Found')
    const role = path.slice('meta-data/iam/security-credentials/'.length)
    if (!c || role !== c.RoleName) return text(404, 'Not Found')
    const body = {
      Code: 'Success',
      LastUpdated: iso(c.LastUpdated),
      Type: 'AWS-HMAC',
      AccessKeyId: c.AccessKeyId,
      SecretAccessKey: c.SecretAccessKey,
      Token: c.Token,
      Expiration: iso(c.Expiration)
    }
    return text(200, JSON.stringify(body, null, 2))
  }

  registerRawRoutes(world.cloud, [
    {
      prefix: IMDS_PREFIX,
      handle: ({ method, path, headers }) => {
        const m = /^\/_emulator\/imds\/([^/]+)\/latest\/?(.*)$/.exec(path)
        const instance = m ? world.instances.get(m[1] ?? '') : undefined
        if (!m || !instance || instance.state === 'terminated' || instance.state === 'shutting-down')
          return text(404, 'Not Found')
        if (instance.data.MetadataOptions?.HttpEndpoint === 'disabled') return text(403, 'Forbidden')
        const rest = (m[2] ?? '').replace(/\/+$/, (s) => (s ? '/' : ''))
        if (rest === 'api/token') {
          if (method !== 'PUT') return text(405, 'Method Not Allowed')
          if (headers['x-forwarded-for'] !== undefined) return text(403, 'Forbidden')
          const ttl = Number(headers['x-aws-ec2-metadata-token-ttl-seconds'])
          if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) return text(400, 'Bad Request')
          const token = randomBytes(42).toString('base64')
          tokens.set(token, { instanceId: instance.instanceId, expiresAt: Date.now() + ttl * 1000 })
          return text(200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) })
        }
        if (method !== 'GET') return text(405, 'Method Not Allowed')
        const given = headers['x-aws-ec2-metadata-token']
        const session = given ? tokens.get(given) : undefined
        const valid =
          session !== undefined && session.instanceId === instance.instanceId && session.expiresAt > Date.now()
        const v1Allowed = instance.data.MetadataOptions?.HttpTokens === 'optional'
        if (given !== undefined ? !valid : !v1Allowed) return text(401, 'Unauthorized')
        return metadata(instance, rest)
      }
    }
  ])
}

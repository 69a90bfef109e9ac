/** ACM's operations, one row each: DNS-validated public certificates, their status and tags. */
import { randomUUID } from 'node:crypto'
import type {
  AddTagsToCertificateRequest,
  CertificateDetail,
  CertificateStatus,
  CertificateSummary,
  DeleteCertificateRequest,
  DescribeCertificateRequest,
  DomainValidation,
  ListCertificatesRequest,
  ListTagsForCertificateRequest,
  RemoveTagsFromCertificateRequest,
  RequestCertificateRequest,
  Tag
} from '@aws-sdk/client-acm'
import type { Cloud } from '../../types.js'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import { listenersUsingCertificate } from '../elbv2/model.js'
import { acmError } from './errors.js'
import { acmState, type CertificateRecord } from './model.js'
import { refresh, VALIDITY_MS, validationRecord } from './validation.js'

/** Domain names per certificate (ACM quotas: 10 by default). */
const MAX_NAMES = 10
const MAX_TAGS = 50
const IDEMPOTENCY_MS = 60 * 60 * 1000
const DOMAIN = /^(\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])$/
const ARN = /^arn:aws[\w-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/

function checkDomain(name: string, member: string): string {
  if (name.length < 1 || name.length > 253 || !DOMAIN.test(name))
    throw acmError(
      'ValidationException',
      `1 validation error detected: Value '${name}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${DOMAIN.source}`
    )
  return name
}

function checkTags(tags: Tag[] | undefined, into: Map<string, string>): Map<string, string> {
  const next = new Map(into)
  for (const t of tags ?? []) {
    const key = t.Key ?? ''
    if (key.length < 1 || key.length > 128 || (t.Value ?? '').length > 256)
      throw acmError('InvalidTagException', `The tag '${key}' is not valid`)
    if (key.toLowerCase().startsWith('aws:'))
      throw acmError('InvalidTagException', `Tag keys beginning with 'aws:' are reserved for AWS use: ${key}`)
    next.set(key, t.Value ?? '')
  }
  if (next.size > MAX_TAGS) throw acmError('TooManyTagsException', `A certificate can have at most ${MAX_TAGS} tags`)
  return next
}

function findCertificate(cloud: Cloud, region: string, arn: string | undefined): CertificateRecord {
  if (!arn || !ARN.test(arn)) throw acmError('InvalidArnException', `${arn ?? ''} is not a valid certificate ARN`)
  const cert = acmState(cloud).certificates.get(arn)
  if (!cert || cert.region !== region) throw acmError('ResourceNotFoundException', `Could not find certificate ${arn}.`)
  return refresh(cloud, cert)
}

function requestCertificate(cloud: Cloud, region: string, input: RequestCertificateRequest): unknown {
  const domainName = checkDomain(input.DomainName ?? '', 'domainName')
  const method = input.ValidationMethod ?? 'EMAIL'
  if (method !== 'DNS' && method !== 'EMAIL' && method !== 'HTTP')
    throw acmError('ValidationException', `Validation method '${String(method)}' is not valid`)
  if (method === 'HTTP')
    throw acmError(
      'InvalidParameterException',
      'HTTP validation is only available for certificates managed by CloudFront'
    )
  const token = input.IdempotencyToken
  if (token !== undefined && !/^\w{1,32}$/.test(token))
    throw acmError(
      'ValidationException',
      `1 validation error detected: Value '${token}' at 'idempotencyToken' failed to satisfy constraint: Member must satisfy regular expression pattern: \\w+`
    )
  const state = acmState(cloud)
  if (token) {
    const earlier = [...state.certificates.values()].find(
      (c) => c.region === region && c.idempotencyToken === token && Date.now() - c.createdAt < IDEMPOTENCY_MS
    )
    if (earlier) return { CertificateArn: earlier.arn }
  }
  const sans = (input.SubjectAlternativeNames ?? []).map((n) => checkDomain(n, 'subjectAlternativeNames.member'))
  const names = [...new Set([domainName, ...sans].map((n) => n.toLowerCase()))]
  if (names.length > MAX_NAMES)
    throw acmError('LimitExceededException', `Cannot request a certificate with more than ${MAX_NAMES} domain names`)
  const now = Date.now()
  const cert: CertificateRecord = {
    arn: `arn:aws:acm:${region}:${cloud.accountId}:certificate/${randomUUID()}`,
    region,
    domainName: domainName.toLowerCase(),
    subjectAlternativeNames: names,
    validationMethod: method,
    ...(token ? { idempotencyToken: token } : {}),
    keyAlgorithm: input.KeyAlgorithm ?? 'RSA_2048',
    createdAt: now,
    recordsKnownAt: now + (cloud.simulation.acmValidationRecordMs ?? 50),
    validations: names.map((n) => validationRecord(cloud, n)),
    status: 'PENDING_VALIDATION',
    tags: checkTags(input.Tags, new Map())
  }
  state.certificates.set(cert.arn, cert)
  return { CertificateArn: cert.arn }
}

function domainValidations(cert: CertificateRecord): DomainValidation[] {
  const known = Date.now() >= cert.recordsKnownAt
  return cert.validations.map((v) => ({
    DomainName: v.domainName,
    ValidationDomain: v.validationDomain,
    ValidationStatus: v.validated ? 'SUCCESS' : 'PENDING_VALIDATION',
    ValidationMethod: cert.validationMethod,
    ...(cert.validationMethod === 'EMAIL'
      ? {
          ValidationEmails: ['admin', 'administrator', 'hostmaster', 'postmaster', 'webmaster'].map(
            (u) => `${u}@${v.validationDomain}`
          )
        }
      : known
        ? { ResourceRecord: { Name: v.recordName, Type: 'CNAME' as const, Value: v.recordValue } }
        : {})
  }))
}

function inUseBy(cloud: Cloud, cert: CertificateRecord): string[] {
  return [...new Set(listenersUsingCertificate(cloud, cert.arn).map((l) => l.loadBalancerArn))]
}

function detail(cloud: Cloud, cert: CertificateRecord): CertificateDetail {
  const issued = cert.status === 'ISSUED' && cert.issuedAt !== undefined
  const inUse = inUseBy(cloud, cert)
  return {
    CertificateArn: cert.arn,
    DomainName: cert.domainName,
    SubjectAlternativeNames: cert.subjectAlternativeNames,
    DomainValidationOptions: domainValidations(cert),
    Subject: `CN=${cert.domainName}`,
    CreatedAt: new Date(cert.createdAt),
    Status: cert.status,
    KeyAlgorithm: cert.keyAlgorithm as CertificateDetail['KeyAlgorithm'],
    SignatureAlgorithm: 'SHA256WITHRSA',
    InUseBy: inUse,
    Type: 'AMAZON_ISSUED',
    KeyUsages: [],
    ExtendedKeyUsages: [],
    RenewalEligibility: issued && inUse.length > 0 ? 'ELIGIBLE' : 'INELIGIBLE',
    Options: { CertificateTransparencyLoggingPreference: 'ENABLED', Export: 'DISABLED' },
    ...(issued
      ? {
          Serial: cert.serial,
          Issuer: 'Amazon',
          IssuedAt: new Date(cert.issuedAt ?? 0),
          NotBefore: new Date(cert.issuedAt ?? 0),
          NotAfter: new Date((cert.issuedAt ?? 0) + VALIDITY_MS),
          KeyUsages: [{ Name: 'DIGITAL_SIGNATURE' }, { Name: 'KEY_ENCIPHERMENT' }],
          ExtendedKeyUsages: [
            { Name: 'TLS_WEB_SERVER_AUTHENTICATION', OID: '1.3.6.1.5.5.7.3.1' },
            { Name: 'TLS_WEB_CLIENT_AUTHENTICATION', OID: '1.3.6.1.5.5.7.3.2' }
          ]
        }
      : {})
  }
}

function summary(cloud: Cloud, cert: CertificateRecord): CertificateSummary {
  const issued = cert.status === 'ISSUED' && cert.issuedAt !== undefined
  return {
    CertificateArn: cert.arn,
    DomainName: cert.domainName,
    SubjectAlternativeNameSummaries: cert.subjectAlternativeNames,
    HasAdditionalSubjectAlternativeNames: false,
    Status: cert.status,
    Type: 'AMAZON_ISSUED',
    KeyAlgorithm: cert.keyAlgorithm as CertificateSummary['KeyAlgorithm'],
    InUse: inUseBy(cloud, cert).length > 0,
    RenewalEligibility: 'INELIGIBLE',
    CreatedAt: new Date(cert.createdAt),
    ...(issued
      ? {
          IssuedAt: new Date(cert.issuedAt ?? 0),
          NotBefore: new Date(cert.issuedAt ?? 0),
          NotAfter: new Date((cert.issuedAt ?? 0) + VALIDITY_MS)
        }
      : {})
  }
}

function listCertificates(cloud: Cloud, region: string, input: ListCertificatesRequest): unknown {
  const max = input.MaxItems ?? 1000
  if (!Number.isInteger(max) || max < 1 || max > 1000)
    throw acmError(
      'ValidationException',
      `1 validation error detected: Value '${max}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`
    )
  const statuses: CertificateStatus[] = input.CertificateStatuses ?? []
  const keyTypes: string[] = input.Includes?.keyTypes ?? ['RSA_2048']
  const all = [...acmState(cloud).certificates.values()]
    .filter((c) => c.region === region)
    .map((c) => refresh(cloud, c))
    .filter((c) => statuses.length === 0 || statuses.includes(c.status))
    .filter((c) => keyTypes.includes(c.keyAlgorithm))
  let start = 0
  if (input.NextToken !== undefined) {
    start = Number(Buffer.from(input.NextToken, 'base64').toString('utf8').replace(/^n:/, ''))
    if (!Number.isInteger(start) || start < 0) throw acmError('InvalidParameterException', 'The NextToken is not valid')
  }
  const items = all.slice(start, start + max)
  return {
    CertificateSummaryList: items.map((c) => summary(cloud, c)),
    ...(start + max < all.length ? { NextToken: Buffer.from(`n:${start + max}`).toString('base64') } : {})
  }
}

function deleteCertificate(cloud: Cloud, region: string, input: DeleteCertificateRequest): unknown {
  const cert = findCertificate(cloud, region, input.CertificateArn)
  const users = inUseBy(cloud, cert)
  if (users.length > 0)
    throw acmError('ResourceInUseException', `Certificate ${cert.arn} in use by ${users.join(', ')}`)
  acmState(cloud).certificates.delete(cert.arn)
  return {}
}

type Op = (cloud: Cloud, region: string, input: never) => unknown

export function handlers(cloud: Cloud): Record<string, JsonHandler> {
  const table: Record<string, Op> = {
    RequestCertificate: requestCertificate,
    DescribeCertificate: (c, r, i: DescribeCertificateRequest) => ({
      Certificate: detail(c, findCertificate(c, r, i.CertificateArn))
    }),
    ListCertificates: listCertificates,
    DeleteCertificate: deleteCertificate,
    AddTagsToCertificate: (c, r, i: AddTagsToCertificateRequest) => {
      const cert = findCertificate(c, r, i.CertificateArn)
      if (!i.Tags || i.Tags.length === 0) throw acmError('ValidationException', 'At least one tag must be specified')
      cert.tags = checkTags(i.Tags, cert.tags)
      return {}
    },
    RemoveTagsFromCertificate: (c, r, i: RemoveTagsFromCertificateRequest) => {
      const cert = findCertificate(c, r, i.CertificateArn)
      const next = new Map(cert.tags)
      for (const t of i.Tags ?? [])
        if (t.Value === undefined || next.get(t.Key ?? '') === t.Value) next.delete(t.Key ?? '')
      cert.tags = next
      return {}
    },
    ListTagsForCertificate: (c, r, i: ListTagsForCertificateRequest) => ({
      Tags: [...findCertificate(c, r, i.CertificateArn).tags].map(([Key, Value]) => ({ Key, Value }))
    })
  }
  return Object.fromEntries(
    Object.entries(table).map(([name, op]) => [
      name,
      ((input: never, ctx: JsonContext) => op(cloud, ctx.region, input)) as JsonHandler
    ])
  )
}

/** GET /_emulator/state: the certificates with their status and tags (the authorizer reads the tags). */
export function state(cloud: Cloud): unknown {
  return {
    certificates: [...acmState(cloud).certificates.values()].map((c) => ({
      ...c,
      tags: Object.fromEntries(c.tags)
    }))
  }
}

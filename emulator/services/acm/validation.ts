/**
 * DNS validation: a certificate is issued once every name's validation CNAME exists, with its value, in a
 * public hosted zone of the account (Route 53). The check runs whenever a certificate is read.
 */
import { createHash } from 'node:crypto'
import type { Cloud } from '../../types.js'
import { route53State } from '../route53/model.js'
import { normaliseName } from '../route53/records.js'
import { acmState, type CertificateRecord, type DomainValidationRecord } from './model.js'

/** How long an ACM certificate is valid: 395 days. */
export const VALIDITY_MS = 395 * 24 * 60 * 60 * 1000

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex')
}

/**
 * The validation record of a name. ACM gives every certificate of the account the same CNAME for the
 * same domain, so a record written once validates later certificates too.
 */
export function validationRecord(cloud: Cloud, domainName: string): DomainValidationRecord {
  const domain = domainName.toLowerCase().replace(/^\*\./, '').replace(/\.$/, '')
  const name = digest('name', cloud.accountId, domain).slice(0, 32)
  const value = digest('value', cloud.accountId, domain)
  return {
    domainName,
    validationDomain: domain,
    recordName: `_${name}.${domain}.`,
    recordValue: `_${value.slice(0, 32)}.${letters(value.slice(32, 42))}.acm-validations.aws.`,
    validated: false
  }
}

/** Hex digits as the lower-case letters ACM's validation values use (0 -> a, ..., f -> p). */
function letters(hex: string): string {
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('')
}

function cnameExists(cloud: Cloud, v: DomainValidationRecord): boolean {
  const name = normaliseName(v.recordName)
  const value = normaliseName(v.recordValue)
  for (const zone of route53State(cloud).zones.values()) {
    if (zone.private) continue
    for (const r of zone.records.values()) {
      if (r.name === name && r.type === 'CNAME' && r.values.some((x) => normaliseName(x) === value)) return true
    }
  }
  return false
}

function serialNumber(arn: string): string {
  return (digest('serial', arn).slice(0, 32).match(/../g) ?? []).join(':')
}

/** Brings a pending DNS-validated certificate up to date: ISSUED once every validation record is in place. */
export function refresh(cloud: Cloud, cert: CertificateRecord): CertificateRecord {
  if (cert.status !== 'PENDING_VALIDATION' || cert.validationMethod !== 'DNS') return cert
  if (Date.now() < cert.recordsKnownAt) return cert
  for (const v of cert.validations) if (!v.validated && cnameExists(cloud, v)) v.validated = true
  if (cert.validations.every((v) => v.validated)) {
    cert.status = 'ISSUED'
    cert.issuedAt = Date.now()
    cert.serial = serialNumber(cert.arn)
  }
  return cert
}

/** The certificate when it exists in the region and is ISSUED (what Elastic Load Balancing accepts on a listener). */
export function issuedCertificate(cloud: Cloud, region: string, arn: string): CertificateRecord | undefined {
  const cert = acmState(cloud).certificates.get(arn)
  if (!cert || cert.region !== region) return undefined
  return refresh(cloud, cert).status === 'ISSUED' ? cert : undefined
}

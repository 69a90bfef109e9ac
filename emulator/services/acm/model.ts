/** ACM's state: the account's certificates per region, each with its DNS validation records. */
import type { Cloud } from '../../types.js'

export type CertificateStatus = 'PENDING_VALIDATION' | 'ISSUED' | 'FAILED'

export interface DomainValidationRecord {
  domainName: string
  /** The domain validated for it: the name itself, without a leading `*.`. */
  validationDomain: string
  recordName: string
  recordValue: string
  validated: boolean
}

export interface CertificateRecord {
  arn: string
  region: string
  domainName: string
  subjectAlternativeNames: string[]
  validationMethod: 'DNS' | 'EMAIL'
  idempotencyToken?: string
  keyAlgorithm: string
  createdAt: number
  /** When DescribeCertificate starts showing the validation records. */
  recordsKnownAt: number
  validations: DomainValidationRecord[]
  status: CertificateStatus
  issuedAt?: number
  serial?: string
  tags: Map<string, string>
}

export interface AcmState {
  certificates: Map<string, CertificateRecord>
}

const states = new WeakMap<Cloud, AcmState>()

export function acmState(cloud: Cloud): AcmState {
  let state = states.get(cloud)
  if (!state) {
    state = { certificates: new Map() }
    states.set(cloud, state)
  }
  return state
}

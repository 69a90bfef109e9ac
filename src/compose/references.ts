/**
 * Values the instance resolves with its role instead of carrying them: an SSM
 * parameter (`ssm:/path/name`) or a Secrets Manager secret by ARN. Used by
 * `environment`, `env_file` values and the `x-hyperform.from` of a secret.
 * Messages never quote the value: in an environment it may be a secret.
 */
import type { Reference } from '../agent/config.js'

/** SSM parameter names: absolute, segments of letters, digits, `_`, `.` and `-`; 2048 characters at most. */
const SSM_NAME = /^(\/[A-Za-z0-9_.-]+)+$/
const SSM_NAME_LIMIT = 2048
/** A secret's ARN in any partition; the name as Secrets Manager allows it (no `:`, so no JSON-key suffix). */
const SECRET_ARN = /^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/
/** What a value must look like to be meant as a Secrets Manager reference. */
const SECRET_ARN_PREFIX = /^arn:aws[a-z-]*:secretsmanager:/

export const SSM_EXAMPLE = '"ssm:/app/db-password"'
export const SECRET_EXAMPLE = '"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-password"'

export type ReferenceRead = { reference: Reference } | { problem: string } | undefined

/** The reference a value is, a problem when it looks like one but is malformed, or undefined for a literal. */
export function referenceOf(value: string): ReferenceRead {
  if (value.startsWith('ssm:')) {
    const name = value.slice(4)
    if (SSM_NAME.test(name) && name.length <= SSM_NAME_LIMIT) return { reference: { ssm: name } }
    return {
      problem: `starts with "ssm:" but is not an SSM parameter reference: "ssm:" must be followed by an absolute parameter name of letters, digits, "_", ".", "-" and "/" (at most ${SSM_NAME_LIMIT} characters), such as ${SSM_EXAMPLE}`
    }
  }
  if (SECRET_ARN_PREFIX.test(value)) {
    if (SECRET_ARN.test(value)) return { reference: { secret: value } }
    return {
      problem: `starts like a Secrets Manager ARN but is not a secret's ARN "arn:<partition>:secretsmanager:<region>:<account>:secret:<name>", such as ${SECRET_EXAMPLE} (JSON keys and version suffixes are not supported)`
    }
  }
  return undefined
}

/** How a reference reads in messages and docs: `ssm:/name` or the ARN. */
export function referenceText(reference: Reference): string {
  return 'ssm' in reference ? `ssm:${reference.ssm}` : reference.secret
}

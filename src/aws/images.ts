/**
 * A custom AMI must match the architecture of the instance types that launch it: a
 * Graviton type with an x86_64 AMI (or the reverse) fails only at launch, in the Auto
 * Scaling group's activities, long after the run said it deployed. One DescribeImages,
 * only when the `ami` input names an AMI id (a `resolve:ssm:` parameter is resolved by
 * EC2 at each launch and is not checked here).
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ec2'
import type { ComposeModel } from '../compose/model.js'
import { isArm } from '../desired.js'
import type { ActionInputs } from '../inputs.js'
import { wrap } from './errors.js'
import type { Aws } from './send.js'

/** The services whose instance type does not run `ami`'s architecture, as sentences. */
export async function imageProblems(
  aws: Aws,
  inputs: Pick<ActionInputs, 'ami' | 'instanceType'>,
  model: ComposeModel
): Promise<string[]> {
  const ami = inputs.ami
  if (!ami?.startsWith('ami-')) return []
  let architecture: string | undefined
  try {
    architecture = (await aws.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0]?.Architecture
  } catch (err) {
    throw wrap(`describing the ami input ${ami}`, err)
  }
  if (!architecture) return [`the ami input ${ami} was not found in this region`]
  const arm = architecture === 'arm64' || architecture === 'arm64_mac'
  return model.services
    .map((service) => ({ service, type: service.size ?? inputs.instanceType }))
    .filter(({ type }) => isArm(type) !== arm)
    .map(
      ({ service, type }) =>
        `service ${service.name}: instance type ${type} runs ${arm ? 'x86_64' : 'arm64'} but the ami input ${ami} is ${architecture}; choose an AMI or an instance type of one architecture`
    )
}

/** SSM's state: the public Amazon Linux 2023 AMI parameters, the only parameters the emulator holds. */
import type { Parameter } from '@aws-sdk/client-ssm'
import { al2023ParameterAmi } from '../../types.js'

export class PublicParameters {
  /** Public parameters do not change while the emulator runs. */
  private readonly modified = new Date()

  find(name: string, region: string): Parameter | undefined {
    const value = al2023ParameterAmi(name)
    if (!value) return undefined
    return {
      Name: name,
      Type: 'String',
      Value: value,
      Version: 1,
      LastModifiedDate: this.modified,
      ARN: `arn:aws:ssm:${region}::parameter${name}`,
      DataType: 'aws:ec2:image'
    }
  }
}

/** SSM (JSON 1.1, AmazonSSM.<Op>): the Amazon Linux 2023 public AMI parameters. */
import { AL2023_AMIS, AwsError, type Cloud, type ServiceModule } from '../types.js'
import { jsonRpcBody, jsonRpcError, jsonRpcResponse, requireStr, targetOperation } from '../protocols/json-rpc.js'

const PREFIX = '/aws/service/ami-amazon-linux-latest/'

/** al2023-ami-kernel-default-x86_64, al2023-ami-kernel-6.1-arm64, al2023-ami-minimal-kernel-default-x86_64, ... */
const AL2023_PARAMETER = /^al2023-ami(-minimal)?-kernel-(default|6\.1|6\.12)-(x86_64|arm64)$/

function amiFor(name: string): string | undefined {
  if (!name.startsWith(PREFIX)) return undefined
  const m = AL2023_PARAMETER.exec(name.slice(PREFIX.length))
  if (!m) return undefined
  return m[3] === 'arm64' ? AL2023_AMIS.arm64.imageId : AL2023_AMIS.x86_64.imageId
}

export function createSsm(cloud: Cloud): ServiceModule {
  const modified = Date.now() / 1000
  return {
    signingName: 'ssm',
    throttleCode: 'ThrottlingException',
    throttleStatus: 400,
    serverErrorCode: 'InternalServerError',
    operation: (req) => targetOperation(req, 'AmazonSSM'),
    async handle(operation, req) {
      if (operation !== 'GetParameter') throw new AwsError('UnknownOperationException', `The emulator's SSM does not implement ${operation}`)
      const name = requireStr(jsonRpcBody(req), 'Name')
      const value = amiFor(name)
      if (!value) throw new AwsError('ParameterNotFound', `Parameter ${name} not found.`)
      return jsonRpcResponse({
        Parameter: {
          Name: name,
          Type: 'String',
          Value: value,
          Version: 1,
          LastModifiedDate: modified,
          ARN: `arn:aws:ssm:${req.region}::parameter${name}`,
          DataType: 'aws:ec2:image'
        }
      })
    },
    error: (err) => jsonRpcError(err),
    state: () => ({ accountId: cloud.accountId })
  }
}

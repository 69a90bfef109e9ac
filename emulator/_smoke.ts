import { startEmulator } from './server.js'
import * as E from '@aws-sdk/client-ec2'
const emu = await startEmulator()
const c = new E.EC2Client({ endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' }, maxAttempts: 1 })
const vpcs = await c.send(new E.DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }))
console.log(JSON.stringify(vpcs.Vpcs))
const vpcId = vpcs.Vpcs![0]!.VpcId!
console.log(await c.send(new E.DescribeVpcAttributeCommand({ VpcId: vpcId, Attribute: 'enableDnsHostnames' })))
console.log(JSON.stringify((await c.send(new E.DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).Subnets))
const g = await c.send(new E.CreateSecurityGroupCommand({ GroupName: 'web', Description: 'd', VpcId: vpcId, TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'a', Value: 'b' }] }] }))
console.log(g)
await c.send(new E.AuthorizeSecurityGroupIngressCommand({ GroupId: g.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '172.28.0.0/16' }] }] }))
console.log(JSON.stringify(await c.send(new E.DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:a', Values: ['b'] }] }))))
const t = await c.send(new E.CreateLaunchTemplateCommand({ LaunchTemplateName: 'lt-web', LaunchTemplateData: { ImageId: 'ami-1', InstanceType: 't3.micro', UserData: Buffer.from('hi').toString('base64'), SecurityGroupIds: [g.GroupId!], MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 } } }))
console.log(JSON.stringify(t))
console.log(JSON.stringify(await c.send(new E.DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'lt-web', Versions: ['$Latest'] }))))
try { await c.send(new E.DescribeSecurityGroupsCommand({ GroupIds: ['sg-123'] })) } catch (e) { console.log((e as Error).name, (e as Error).message) }
await emu.stop()

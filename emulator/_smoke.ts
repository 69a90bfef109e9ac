import { startEmulator } from './server.js'
const emu = await startEmulator()
const post = async (body: string) => (await fetch(emu.endpoint + '/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).text()
console.log(await post('Action=CreateSecurityGroup&Version=2016-11-15&GroupName=x&GroupDescription=y'))
console.log(await post('Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=group-name&Filter.1.Value.1=x'))
console.log(await post('Action=DescribeAutoScalingGroups&Version=2011-01-01'))
console.log(await post('Action=CreateRole&Version=2010-05-08&RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=a&Tags.member.1.Value=b'))
await emu.stop()

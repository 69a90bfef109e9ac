/** EC2's operations, one row each: VPCs, subnets, images, security groups, launch templates, instances, EBS, tags. */
import type {
  AssociateRouteTableRequest,
  AttachVolumeRequest,
  CreateSnapshotRequest,
  CreateVolumeRequest,
  DeleteSnapshotRequest,
  DeleteVolumeRequest,
  DescribeSnapshotsRequest,
  DescribeTagsRequest,
  DescribeVolumesRequest,
  DetachVolumeRequest,
  ModifyInstanceAttributeRequest,
  AttachInternetGatewayRequest,
  AuthorizeSecurityGroupIngressRequest,
  CreateInternetGatewayRequest,
  CreateRouteRequest,
  CreateRouteTableRequest,
  DescribeRouteTablesRequest,
  ModifySubnetAttributeRequest,
  CreateLaunchTemplateRequest,
  CreateLaunchTemplateVersionRequest,
  CreateSecurityGroupRequest,
  CreateSubnetRequest,
  CreateTagsRequest,
  CreateVpcRequest,
  DeleteLaunchTemplateRequest,
  DeleteSecurityGroupRequest,
  DeleteTagsRequest,
  DescribeImagesRequest,
  DescribeInstancesRequest,
  DescribeInstanceTypesRequest,
  DescribeSpotPriceHistoryRequest,
  DescribeLaunchTemplatesRequest,
  DescribeLaunchTemplateVersionsRequest,
  DescribeSecurityGroupsRequest,
  DescribeSubnetsRequest,
  DescribeVpcAttributeRequest,
  DescribeVpcsRequest,
  ModifyLaunchTemplateRequest,
  ModifyVpcAttributeRequest,
  RunInstancesRequest,
  TerminateInstancesRequest
} from '@aws-sdk/client-ec2'
import { registerControlRoutes, registerInstanceControls } from '../../core/hooks.js'
import type { QueryContext, QueryHandler } from '../../protocols/query.js'
import * as net from './describe-network.js'
import * as routes from './routes.js'
import { describeInstances, instanceState, runInstances, terminateInstance, terminateInstances } from './instances.js'
import { rebalanceRecommendation, spotInterrupt } from './spot.js'
import { describeSpotPriceHistory, listSpotPrices, setSpotPrice, type SpotPriceSetting } from './spot-prices.js'
import { describeInstanceTypes } from './instance-types.js'
import * as lt from './launch-templates.js'
import * as sg from './security-groups.js'
import { createTags, deleteTags, describeTags } from './tags.js'
import * as ebs from './volumes.js'
import { createSnapshot, deleteSnapshot, describeSnapshots, snapshotState } from './snapshots.js'
import type { Ec2World } from './model.js'
import { AwsError } from '../../types.js'

const ok = { Return: true }

export function handlers(w: Ec2World): Record<string, QueryHandler> {
  return {
    CreateVpc: (i: CreateVpcRequest, c: QueryContext) => net.createVpc(w, c.region, i),
    CreateSubnet: (i: CreateSubnetRequest, c: QueryContext) => net.createSubnet(w, c.region, i),
    ModifySubnetAttribute: (i: ModifySubnetAttributeRequest, c: QueryContext) =>
      routes.modifySubnetAttribute(w, c.region, i),
    DescribeRouteTables: (i: DescribeRouteTablesRequest, c: QueryContext) => routes.describeRouteTables(w, c.region, i),
    CreateRouteTable: (i: CreateRouteTableRequest, c: QueryContext) => routes.createRouteTable(w, c.region, i),
    CreateRoute: (i: CreateRouteRequest, c: QueryContext) => routes.createRoute(w, c.region, i),
    AssociateRouteTable: (i: AssociateRouteTableRequest, c: QueryContext) => routes.associateRouteTable(w, c.region, i),
    CreateInternetGateway: (i: CreateInternetGatewayRequest, c: QueryContext) =>
      routes.createInternetGateway(w, c.region, i),
    AttachInternetGateway: (i: AttachInternetGatewayRequest, c: QueryContext) =>
      routes.attachInternetGateway(w, c.region, i),
    DescribeVpcs: (i: DescribeVpcsRequest, c: QueryContext) => net.describeVpcs(w, c.region, i),
    DescribeVpcAttribute: (i: DescribeVpcAttributeRequest, c: QueryContext) => net.describeVpcAttribute(w, c.region, i),
    ModifyVpcAttribute: (i: ModifyVpcAttributeRequest, c: QueryContext) => net.modifyVpcAttribute(w, c.region, i),
    DescribeSubnets: (i: DescribeSubnetsRequest, c: QueryContext) => net.describeSubnets(w, c.region, i),
    DescribeAvailabilityZones: (_i: unknown, c: QueryContext) => net.describeAvailabilityZones(w, c.region),
    DescribeImages: (i: DescribeImagesRequest) => net.describeImages(i),
    CreateSecurityGroup: (i: CreateSecurityGroupRequest, c: QueryContext) => sg.createSecurityGroup(w, c.region, i),
    DescribeSecurityGroups: (i: DescribeSecurityGroupsRequest, c: QueryContext) =>
      sg.describeSecurityGroups(w, c.region, i),
    DeleteSecurityGroup: (i: DeleteSecurityGroupRequest, c: QueryContext) => sg.deleteSecurityGroup(w, c.region, i),
    AuthorizeSecurityGroupIngress: (i: AuthorizeSecurityGroupIngressRequest, c: QueryContext) =>
      sg.authorize(w, c.region, i, false),
    RevokeSecurityGroupIngress: (i: AuthorizeSecurityGroupIngressRequest, c: QueryContext) =>
      sg.revoke(w, c.region, i, false),
    AuthorizeSecurityGroupEgress: (i: AuthorizeSecurityGroupIngressRequest, c: QueryContext) =>
      sg.authorize(w, c.region, i, true),
    RevokeSecurityGroupEgress: (i: AuthorizeSecurityGroupIngressRequest, c: QueryContext) =>
      sg.revoke(w, c.region, i, true),
    CreateLaunchTemplate: (i: CreateLaunchTemplateRequest, c: QueryContext) => lt.createLaunchTemplate(w, c.region, i),
    CreateLaunchTemplateVersion: (i: CreateLaunchTemplateVersionRequest, c: QueryContext) =>
      lt.createLaunchTemplateVersion(w, c.region, i),
    DescribeLaunchTemplates: (i: DescribeLaunchTemplatesRequest, c: QueryContext) =>
      lt.describeLaunchTemplates(w, c.region, i),
    DescribeLaunchTemplateVersions: (i: DescribeLaunchTemplateVersionsRequest, c: QueryContext) =>
      lt.describeLaunchTemplateVersions(w, c.region, i),
    ModifyLaunchTemplate: (i: ModifyLaunchTemplateRequest, c: QueryContext) => lt.modifyLaunchTemplate(w, c.region, i),
    DeleteLaunchTemplate: (i: DeleteLaunchTemplateRequest, c: QueryContext) => lt.deleteLaunchTemplate(w, c.region, i),
    DescribeInstances: (i: DescribeInstancesRequest, c: QueryContext) => describeInstances(w, c.region, i),
    RunInstances: (i: RunInstancesRequest, c: QueryContext) => runInstances(w, c.region, i),
    TerminateInstances: (i: TerminateInstancesRequest, c: QueryContext) => terminateInstances(w, c.region, i),
    CreateTags: (i: CreateTagsRequest, c: QueryContext) => createTags(w, c.region, i),
    DeleteTags: (i: DeleteTagsRequest, c: QueryContext) => deleteTags(w, c.region, i),
    DescribeTags: (i: DescribeTagsRequest, c: QueryContext) => describeTags(w, c.region, i),
    CreateVolume: (i: CreateVolumeRequest, c: QueryContext) => ebs.createVolume(w, c.region, i),
    DescribeVolumes: (i: DescribeVolumesRequest, c: QueryContext) => ebs.describeVolumes(w, c.region, i),
    DeleteVolume: (i: DeleteVolumeRequest, c: QueryContext) => ebs.deleteVolume(w, c.region, i),
    AttachVolume: (i: AttachVolumeRequest, c: QueryContext) => ebs.attachVolume(w, c.region, i),
    DetachVolume: (i: DetachVolumeRequest, c: QueryContext) => ebs.detachVolume(w, c.region, i),
    ModifyInstanceAttribute: (i: ModifyInstanceAttributeRequest, c: QueryContext) =>
      ebs.modifyInstanceAttribute(w, c.region, i),
    CreateSnapshot: (i: CreateSnapshotRequest, c: QueryContext) => createSnapshot(w, c.region, i),
    DescribeSnapshots: (i: DescribeSnapshotsRequest, c: QueryContext) => describeSnapshots(w, c.region, i),
    DeleteSnapshot: (i: DeleteSnapshotRequest, c: QueryContext) => deleteSnapshot(w, c.region, i),
    DescribeSpotPriceHistory: (i: DescribeSpotPriceHistoryRequest, c: QueryContext) =>
      describeSpotPriceHistory(w, c.region, i),
    DescribeInstanceTypes: (i: DescribeInstanceTypesRequest) => describeInstanceTypes(i),
    DescribeAccountAttributes: () => ({ AccountAttributes: [] }),
    DeleteVpc: () => ok
  }
}

export function registerControls(w: Ec2World): void {
  const find = (id: string): NonNullable<ReturnType<typeof w.instances.get>> => {
    const instance = w.instances.get(id)
    // the control API answers an unknown instance with 404 (it is not an EC2 wire error)
    if (!instance) throw new AwsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`, 404)
    return instance
  }
  registerInstanceControls(w.cloud, {
    terminateInstance: (id) =>
      terminateInstance(w, find(id), {
        code: 'Client.UserInitiatedShutdown',
        message: 'Client.UserInitiatedShutdown: User initiated shutdown'
      }),
    spotInterrupt: (id) => spotInterrupt(w, find(id)),
    rebalance: (id) => rebalanceRecommendation(w, find(id))
  })
  registerControlRoutes(w.cloud, [
    {
      method: 'POST',
      path: /^\/_emulator\/spot-prices$/,
      handle: (_params, body) => setSpotPrice(w, (body ?? {}) as SpotPriceSetting)
    },
    { method: 'GET', path: /^\/_emulator\/spot-prices$/, handle: (_params, _body, query) => listSpotPrices(w, query) },
    {
      method: 'GET',
      path: /^\/_emulator\/volumes$/,
      handle: () => ({ status: 200, body: [...w.volumes.values()].map(ebs.volumeView) })
    },
    {
      method: 'GET',
      path: /^\/_emulator\/volumes\/([^/]+)$/,
      handle: ([id]) => ({ status: 200, body: ebs.volumeView(ebs.controlVolume(w, id ?? '')) })
    },
    {
      method: 'POST',
      path: /^\/_emulator\/volumes\/([^/]+)\/data$/,
      handle: ([id], body) => ({ status: 200, body: ebs.setVolumeData(w, id ?? '', body) })
    }
  ])
}

export function state(w: Ec2World): unknown {
  return {
    vpcs: [...w.network.vpcs.values()].map(
      ({ vpcId, region, cidrBlock, isDefault, enableDnsSupport, enableDnsHostnames }) => ({
        vpcId,
        region,
        cidrBlock,
        isDefault,
        enableDnsSupport,
        enableDnsHostnames
      })
    ),
    subnets: [...w.network.subnets.values()].map(({ subnetId, vpcId, availabilityZone, cidrBlock }) => ({
      subnetId,
      vpcId,
      availabilityZone,
      cidrBlock
    })),
    securityGroups: sg.groupState(w),
    launchTemplates: lt.templateState(w),
    instances: instanceState(w),
    volumes: ebs.volumeState(w),
    snapshots: snapshotState(w)
  }
}

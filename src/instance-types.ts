/**
 * The instance types a spot group may launch by default: the service's type and others of the
 * same size (vCPUs, memory, architecture) from other families and generations, so one reclaimed
 * spot pool does not empty a service. Pure: a table shipped with the action, no DescribeInstanceTypes.
 */

export interface InstanceTypeInfo {
  vcpus: number
  memoryGiB: number
  architecture: 'x86_64' | 'arm64'
  family: string
  generation: number
  burstable: boolean
}

/** At most this many types in a spot group's overrides by default (AWS allows up to 40). */
export const SPOT_TYPES_CAP = 6

type Sizes = Record<string, [vcpus: number, memoryGiB: number]>

/** t3, t3a and t4g: two vCPUs up to large. */
const T3: Sizes = {
  nano: [2, 0.5],
  micro: [2, 1],
  small: [2, 2],
  medium: [2, 4],
  large: [2, 8],
  xlarge: [4, 16],
  '2xlarge': [8, 32]
}
const T2: Sizes = {
  nano: [1, 0.5],
  micro: [1, 1],
  small: [1, 2],
  medium: [2, 4],
  large: [2, 8],
  xlarge: [4, 16],
  '2xlarge': [8, 32]
}
/** General purpose: 4 GiB per vCPU. */
const M: Sizes = { large: [2, 8], xlarge: [4, 16], '2xlarge': [8, 32], '4xlarge': [16, 64] }
const M_MEDIUM: Sizes = { medium: [1, 4], ...M }
/** Compute optimized: 2 GiB per vCPU. */
const C: Sizes = { large: [2, 4], xlarge: [4, 8], '2xlarge': [8, 16], '4xlarge': [16, 32] }
const C_MEDIUM: Sizes = { medium: [1, 2], ...C }
/** Memory optimized: 8 GiB per vCPU. */
const R: Sizes = { large: [2, 16], xlarge: [4, 32], '2xlarge': [8, 64], '4xlarge': [16, 128] }
const R_MEDIUM: Sizes = { medium: [1, 8], ...R }

const FAMILIES: Array<{ family: string; generation: number; arm?: boolean; burstable?: boolean; sizes: Sizes }> = [
  { family: 't2', generation: 2, burstable: true, sizes: T2 },
  { family: 't3', generation: 3, burstable: true, sizes: T3 },
  { family: 't3a', generation: 3, burstable: true, sizes: T3 },
  { family: 't4g', generation: 4, burstable: true, arm: true, sizes: T3 },
  { family: 'm5', generation: 5, sizes: M },
  { family: 'm5a', generation: 5, sizes: M },
  { family: 'm6i', generation: 6, sizes: M },
  { family: 'm6a', generation: 6, sizes: M },
  { family: 'm7i', generation: 7, sizes: M },
  { family: 'm7a', generation: 7, sizes: M_MEDIUM },
  { family: 'm6g', generation: 6, arm: true, sizes: M_MEDIUM },
  { family: 'm7g', generation: 7, arm: true, sizes: M_MEDIUM },
  { family: 'c5', generation: 5, sizes: C },
  { family: 'c5a', generation: 5, sizes: C },
  { family: 'c6i', generation: 6, sizes: C },
  { family: 'c6a', generation: 6, sizes: C },
  { family: 'c7i', generation: 7, sizes: C },
  { family: 'c6g', generation: 6, arm: true, sizes: C_MEDIUM },
  { family: 'c7g', generation: 7, arm: true, sizes: C_MEDIUM },
  { family: 'r5', generation: 5, sizes: R },
  { family: 'r5a', generation: 5, sizes: R },
  { family: 'r6i', generation: 6, sizes: R },
  { family: 'r6a', generation: 6, sizes: R },
  { family: 'r7i', generation: 7, sizes: R },
  { family: 'r6g', generation: 6, arm: true, sizes: R_MEDIUM },
  { family: 'r7g', generation: 7, arm: true, sizes: R_MEDIUM }
]

/** The table: every type above by name ("m5.large"). */
export const INSTANCE_TYPES: ReadonlyMap<string, InstanceTypeInfo> = new Map(
  FAMILIES.flatMap((f) =>
    Object.entries(f.sizes).map(([size, [vcpus, memoryGiB]]) => [
      `${f.family}.${size}`,
      {
        vcpus,
        memoryGiB,
        architecture: f.arm ? ('arm64' as const) : ('x86_64' as const),
        family: f.family,
        generation: f.generation,
        burstable: f.burstable === true
      }
    ])
  )
)

/**
 * The spot types derived from the primary: itself first, then the table's types of the same vCPUs,
 * memory and architecture (burstable only for a burstable primary, none for another), newest
 * generation first then by family, at most `cap`. An unknown primary gives just itself.
 */
export function equivalentTypes(primary: string, cap = SPOT_TYPES_CAP): string[] {
  const info = INSTANCE_TYPES.get(primary)
  if (!info) return [primary]
  const others = [...INSTANCE_TYPES]
    .filter(
      ([name, t]) =>
        name !== primary &&
        t.vcpus === info.vcpus &&
        t.memoryGiB === info.memoryGiB &&
        t.architecture === info.architecture &&
        t.burstable === info.burstable
    )
    .sort(([an, a], [bn, b]) => b.generation - a.generation || a.family.localeCompare(b.family) || an.localeCompare(bn))
    .map(([name]) => name)
  return [primary, ...others].slice(0, Math.max(1, cap))
}

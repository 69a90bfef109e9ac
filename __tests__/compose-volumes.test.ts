/**
 * Compose volumes, bind mounts of repository files and configs: named volumes with their EBS
 * settings, repository files shipped read-only (gzip, base64), configs from a file, inline content
 * or a variable; every mistake stops the run at its file, line and key.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, sep } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { formatDiagnostic, loadCompose } from '../src/compose/index.js'
import type { ServiceFile } from '../src/compose/model.js'
import { ComposeWorkspaces } from './helpers/compose-workspace.js'

const w = new ComposeWorkspaces()
const outside: string[] = []
afterAll(() => {
  w.cleanup()
  for (const dir of outside) rmSync(dir, { recursive: true, force: true })
})

const lines = (...text: string[]): string => [...text, ''].join('\n')
const web = (...service: string[]): string[] => ['services:', '  web:', '    image: nginx', ...service]

function unpack(file: ServiceFile): string {
  return gunzipSync(Buffer.from(file.content, 'base64')).toString('utf8')
}

describe('named volumes', () => {
  test('short and long syntax mount declared volumes, read-only when asked, sorted by name', async () => {
    const result = await w.load({
      files: {
        'compose.yaml': lines(
          ...web(
            '    volumes:',
            '      - logs:/var/log/app:ro',
            '      - data:/var/lib/data',
            '      - type: volume',
            '        source: cache',
            '        target: /cache/',
            '        read_only: true',
            '        volume: {nocopy: true}',
            '        consistency: cached'
          ),
          'volumes:',
          '  data:',
          '  logs: {}',
          '  cache:',
          '    driver: local'
        )
      }
    })
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
    expect(result.model.services[0]!.volumes).toEqual([
      { name: 'cache', target: '/cache', readOnly: true },
      { name: 'data', target: '/var/lib/data', readOnly: false },
      { name: 'logs', target: '/var/log/app', readOnly: true }
    ])
    expect(result.model.volumes).toEqual([
      { name: 'cache', sizeGiB: 10, type: 'gp3', location: { file: 'compose.yaml', line: 16, column: 3 } },
      { name: 'data', sizeGiB: 10, type: 'gp3', location: { file: 'compose.yaml', line: 14, column: 3 } },
      { name: 'logs', sizeGiB: 10, type: 'gp3', location: { file: 'compose.yaml', line: 15, column: 3 } }
    ])
    expect(result.warnings.map(formatDiagnostic)).toEqual([
      "compose.yaml:11:18 services.web.volumes[2].volume.nocopy: ignored: a new volume starts empty; the image's files at the target are not copied into it"
    ])
  })

  test('driver_opts set the EBS volume, and x-hyperform wins over them', async () => {
    const result = await w.load({
      files: {
        'compose.yaml': lines(
          ...web('    volumes: [db:/db, big:/big, slow:/slow]'),
          'volumes:',
          '  db:',
          '    driver_opts: {size: 20G, type: gp3, iops: "4000", throughput: "250"}',
          '    x-hyperform:',
          '      size: 30GiB',
          '      throughput: 500',
          '      zone: eu-west-1b',
          '  big:',
          '    driver_opts: {type: io2, iops: 20000, size: 50Gi}',
          '  slow:',
          '    x-hyperform: {type: st1, size: 1T}'
        )
      }
    })
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
    expect(result.model.volumes!.map(({ location: _, ...v }) => v)).toEqual([
      { name: 'big', sizeGiB: 50, type: 'io2', iops: 20000 },
      { name: 'db', sizeGiB: 30, type: 'gp3', iops: 4000, throughput: 500, zone: 'eu-west-1b' },
      { name: 'slow', sizeGiB: 1024, type: 'st1' }
    ])
  })

  test('a declared volume no service mounts is a warning and is not in the model', async () => {
    const result = await w.load({
      files: { 'compose.yaml': lines(...web(), 'volumes:', '  spare:', '    name: other', '    labels: [a=b]') }
    })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.model.volumes).toBeUndefined()
    expect(result.model.services[0]!.volumes).toBeUndefined()
    expect(result.warnings.map(formatDiagnostic)).toEqual([
      'compose.yaml:5:3 volumes.spare: not mounted by any service: nothing is created',
      'compose.yaml:6:5 volumes.spare.name: ignored: the action names the EBS volumes after the stack, service and slot',
      'compose.yaml:7:5 volumes.spare.labels: ignored: volume labels are not applied; the action tags the EBS volumes'
    ])
  })

  test.each([
    [
      'an anonymous volume',
      ['      - /var/lib/data'],
      [
        'compose.yaml:5:9 services.web.volumes[0]: "/var/lib/data": anonymous volumes are not kept: name it under top-level "volumes" and mount it as NAME:/var/lib/data'
      ]
    ],
    [
      'an anonymous volume in long syntax',
      ['      - type: volume', '        target: /data'],
      [
        'compose.yaml:5:9 services.web.volumes[0].source: anonymous volumes are not kept: name it under top-level "volumes" and mount it as NAME:/data'
      ]
    ],
    [
      'an undeclared volume',
      ['      - nope:/data'],
      [
        'compose.yaml:5:9 services.web.volumes[0]: volume "nope" is not declared in the top-level "volumes" (a path to a repository file starts with "./")'
      ]
    ],
    [
      'a relative target',
      ['      - data:data'],
      [
        'compose.yaml:5:9 services.web.volumes[0]: "data:data": the target must be an absolute path in the container, got "data"'
      ]
    ],
    [
      'a relative target in long syntax',
      ['      - {type: volume, source: data, target: data}'],
      ['compose.yaml:5:46 services.web.volumes[0].target: must be an absolute path in the container, got "data"']
    ],
    [
      'the same target twice',
      ['      - data:/data', '      - other:/data/'],
      ['compose.yaml:6:9 services.web.volumes[1]: target "/data" is already used by services.web.volumes[0]']
    ],
    [
      'the same volume twice',
      ['      - data:/a', '      - data:/b:ro'],
      ['compose.yaml:6:9 services.web.volumes[1]: volume "data" is already mounted by services.web.volumes[0]']
    ],
    [
      'a tmpfs mount',
      ['      - type: tmpfs', '        target: /tmp'],
      ['compose.yaml:5:15 services.web.volumes[0].type: "tmpfs" is not supported: tmpfs mounts are not created']
    ],
    [
      'a named pipe',
      ['      - {type: npipe, source: x, target: /x}'],
      ['compose.yaml:5:16 services.web.volumes[0].type: "npipe" is not supported: named pipes are for Windows hosts']
    ],
    [
      'a cluster volume',
      ['      - {type: cluster, source: x, target: /x}'],
      ['compose.yaml:5:16 services.web.volumes[0].type: "cluster" is not supported: cluster volumes are for Swarm']
    ],
    [
      'a long syntax without type',
      ['      - {source: data, target: /x}'],
      [
        'compose.yaml:5:9 services.web.volumes[0].type: is required: "volume" (a named volume) or "bind" (a repository file)'
      ]
    ],
    [
      'an unknown mode',
      ['      - data:/x:rx'],
      ['compose.yaml:5:9 services.web.volumes[0]: "data:/x:rx": mode "rx" is not "ro" or "rw"']
    ],
    [
      'a subpath',
      ['      - {type: volume, source: data, target: /x, volume: {subpath: a}}'],
      ['compose.yaml:5:59 services.web.volumes[0].volume.subpath: not supported: the whole volume is mounted']
    ],
    [
      'a volume and a secret on the same target',
      ['      - data:/run/secrets/token', '    secrets: [token]'],
      [
        'compose.yaml:5:9 services.web.volumes[0]: target "/run/secrets/token" is already used by services.web.secrets[0]'
      ]
    ]
  ])('%s is an error naming its line and key', async (_name, service, expected) => {
    const files = {
      'compose.yaml': lines(
        ...web('    volumes:', ...service),
        'volumes:',
        '  data:',
        '  other:',
        'secrets:',
        '  token:',
        '    environment: TOKEN'
      )
    }
    expect(await w.errors({ files, env: { TOKEN: 't' } })).toEqual(expected)
  })

  test.each([
    [
      'a driver other than local',
      ['    driver: rexray/ebs'],
      'compose.yaml:7:13 volumes.data.driver: must be "local" (or absent): each volume is an EBS volume the action creates, got string "rexray/ebs"'
    ],
    [
      'a size of 0',
      ['    driver_opts: {size: 0}'],
      'compose.yaml:7:25 volumes.data.driver_opts.size: must be a size in GiB from 1 to 16384, such as 20 or "20GiB", got number 0'
    ],
    [
      'a size in megabytes',
      ['    x-hyperform: {size: 500M}'],
      'compose.yaml:7:25 volumes.data.x-hyperform.size: must be a size in GiB from 1 to 16384, such as 20 or "20GiB", got string "500M"'
    ],
    [
      'a size above 16 TiB',
      ['    driver_opts: {size: 16385}'],
      'compose.yaml:7:25 volumes.data.driver_opts.size: must be a size in GiB from 1 to 16384, such as 20 or "20GiB", got number 16385'
    ],
    [
      'an unknown type',
      ['    driver_opts: {type: nfs}'],
      'compose.yaml:7:25 volumes.data.driver_opts.type: must be an EBS volume type: gp3, gp2, io1, io2, st1, sc1; got string "nfs"'
    ],
    [
      'gp3 iops below 3000',
      ['    driver_opts: {iops: 1000}'],
      'compose.yaml:7:25 volumes.data.driver_opts.iops: 1000 is not from 3000 to 16000, the IOPS of a gp3 volume'
    ],
    [
      'gp3 iops above 500 per GiB',
      ['    driver_opts: {iops: 6000}'],
      'compose.yaml:7:25 volumes.data.driver_opts.iops: 6000 is more than 500 IOPS per GiB of a gp3 volume of 10 GiB'
    ],
    [
      'gp3 throughput above 1000',
      ['    x-hyperform: {throughput: 2000}'],
      'compose.yaml:7:31 volumes.data.x-hyperform.throughput: 2000 is not from 125 to 1000 MiB/s, the throughput of a gp3 volume'
    ],
    [
      'gp3 throughput above its IOPS',
      ['    x-hyperform: {throughput: 800}'],
      'compose.yaml:7:31 volumes.data.x-hyperform.throughput: 800 MiB/s is more than a gp3 volume of 3000 IOPS allows (750: 0.25 MiB/s per IOPS)'
    ],
    [
      'throughput on gp2',
      ['    driver_opts: {type: gp2, throughput: 200}'],
      'compose.yaml:7:42 volumes.data.driver_opts.throughput: is for gp3 volumes only, and the type is gp2'
    ],
    [
      'io1 without iops',
      ['    driver_opts: {type: io1}'],
      'compose.yaml:7:25 volumes.data.driver_opts.type: io1 volumes need "iops" (100 to 64000)'
    ],
    [
      'iops on st1',
      ['    driver_opts: {type: st1, size: 200, iops: 500}'],
      'compose.yaml:7:47 volumes.data.driver_opts.iops: is for gp3, io1 and io2 volumes only, and the type is st1'
    ],
    [
      'a small st1 volume',
      ['    x-hyperform: {type: sc1}'],
      'compose.yaml:7:25 volumes.data.x-hyperform.type: sc1 volumes are at least 125 GiB, and the size is 10 GiB'
    ],
    [
      'a zone that is not a zone',
      ['    x-hyperform: {zone: us-east-1}'],
      'compose.yaml:7:25 volumes.data.x-hyperform.zone: must be an availability zone name such as "us-east-1a", got string "us-east-1"'
    ],
    [
      'a zone in driver_opts',
      ['    driver_opts: {zone: us-east-1a}'],
      'compose.yaml:7:19 volumes.data.driver_opts.zone: not a Compose key'
    ],
    [
      'an unknown x-hyperform key',
      ['    x-hyperform: {sise: 20}'],
      'compose.yaml:7:19 volumes.data.x-hyperform.sise: not a setting of x-hyperform here; expected "size", "type", "iops", "throughput", "zone"'
    ],
    [
      'a device option',
      ['    driver_opts: {device: /dev/xvdf}'],
      'compose.yaml:7:19 volumes.data.driver_opts.device: not supported: each volume is an EBS volume; set size, type, iops and throughput in driver_opts or x-hyperform'
    ],
    [
      'an external volume',
      ['    external: true'],
      "compose.yaml:7:5 volumes.data.external: not supported: external volumes are not supported: the action creates and keeps each service's volumes"
    ],
    [
      'a volume name that Compose refuses',
      [],
      'compose.yaml:6:3 volumes._data: volume name "_data" must start with a letter or digit, then letters, digits, ".", "_" and "-"'
    ]
  ])('%s is an error naming its line and key', async (name, decl, expected) => {
    const volume = name.includes('refuses') ? '_data' : 'data'
    const files = {
      'compose.yaml': lines(...web(`    volumes: ["${volume}:/data"]`), 'volumes:', `  ${volume}:`, ...decl)
    }
    expect(await w.errors({ files })).toEqual([expected])
  })

  test('external: false is the default and accepted', async () => {
    const files = {
      'compose.yaml': lines(...web('    volumes: [data:/data]'), 'volumes:', '  data:', '    external: false')
    }
    expect(await w.errors({ files })).toEqual([])
  })
})

describe('bind mounts of repository files', () => {
  test('a file of the repository is shipped read-only, gzip and base64, at its target', async () => {
    const result = await w.load({
      files: {
        'deploy/compose.yaml': lines(
          ...web(
            '    volumes:',
            '      - ./nginx.conf:/etc/nginx/nginx.conf:ro',
            '      - type: bind',
            '        source: ../site/index.html',
            '        target: /usr/share/nginx/html/index.html'
          )
        ),
        'deploy/nginx.conf': 'events {}\nhttp { server { listen 80; } }\n',
        'site/index.html': '<h1>héllo</h1>\n'
      },
      compose: ['deploy/compose.yaml']
    })
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
    const files = result.model.services[0]!.files!
    expect(files.map(({ content: _, ...f }) => f)).toEqual([
      {
        target: '/etc/nginx/nginx.conf',
        mode: '0444',
        source: 'deploy/nginx.conf',
        location: { file: 'deploy/compose.yaml', line: 5, column: 9 }
      },
      {
        target: '/usr/share/nginx/html/index.html',
        mode: '0444',
        source: 'site/index.html',
        location: { file: 'deploy/compose.yaml', line: 7, column: 17 }
      }
    ])
    expect(files.map(unpack)).toEqual(['events {}\nhttp { server { listen 80; } }\n', '<h1>héllo</h1>\n'])
    expect(result.model.services[0]!.volumes).toBeUndefined()
    expect(result.warnings).toEqual([])
  })

  test('asking for a writable bind mount is a warning: the file is read-only on the instance', async () => {
    const result = await w.load({
      files: {
        'compose.yaml': lines(
          ...web(
            '    volumes:',
            '      - ./a.txt:/a.txt:rw',
            '      - {type: bind, source: ./a.txt, target: /b.txt, read_only: false}'
          ),
          ''
        ),
        'a.txt': 'a'
      }
    })
    expect(result.ok).toBe(true)
    expect(result.warnings.map(formatDiagnostic)).toEqual([
      'compose.yaml:5:9 services.web.volumes[0]: bind mount of ./a.txt: the file is read-only on the instance (it is shipped from the repository); writes fail',
      'compose.yaml:6:30 services.web.volumes[1].source: bind mount of ./a.txt: the file is read-only on the instance (it is shipped from the repository); writes fail'
    ])
  })

  test('a file of exactly 16 KiB is shipped, one byte more is an error naming the limit', async () => {
    const files = {
      'compose.yaml': lines(...web('    volumes:', '      - ./ok.bin:/ok.bin', '      - ./big.bin:/big.bin')),
      'ok.bin': 'x'.repeat(16384),
      'big.bin': 'x'.repeat(16385)
    }
    expect(await w.errors({ files })).toEqual([
      'compose.yaml:6:9 services.web.volumes[1]: bind mount of ./big.bin: is 16385 bytes, more than the 16384 bytes (16 KiB) a shipped file may have; use a named volume, or put the file in the image'
    ])
  })

  test('a directory, a missing file, a file outside the repository and a symlink out of it are errors', async () => {
    const away = mkdtempSync(join(tmpdir(), 'hyperform-outside-'))
    outside.push(away)
    writeFileSync(join(away, 'secret.txt'), 'outside')
    const workspace = w.workspace({ 'data/file.txt': 'in a directory' })
    const up = relative(workspace, join(away, 'secret.txt')).split(sep).join('/')
    writeFileSync(
      join(workspace, 'compose.yaml'),
      lines(
        ...web(
          '    volumes:',
          '      - ./data:/data',
          '      - ./missing.conf:/etc/missing.conf',
          `      - ${up}:/etc/outside.txt`,
          '      - type: bind',
          '        source: ./link.txt',
          '        target: /etc/link.txt',
          '      - ~/.ssh/id_rsa:/root/id',
          '      - .:/app',
          '      - ./data/file.txt'
        )
      )
    )
    symlinkSync(join(away, 'secret.txt'), join(workspace, 'link.txt'))
    const result = await loadCompose({ files: ['compose.yaml'], workspace, env: {} })
    const errors = result.ok ? [] : result.errors.map(formatDiagnostic)
    expect(errors.slice(0, 4)).toEqual([
      'compose.yaml:5:9 services.web.volumes[0]: bind mount of ./data: only files of the repository can be shipped (a directory is not); use a named volume, or put the file in the image',
      'compose.yaml:6:9 services.web.volumes[1]: bind mount of ./missing.conf: file not found (paths are relative to the first compose file)',
      `compose.yaml:7:9 services.web.volumes[2]: bind mount of ${up}: only files of the repository can be shipped (it resolves outside the repository)`,
      'compose.yaml:9:17 services.web.volumes[3].source: bind mount of ./link.txt: only files of the repository can be shipped (it resolves outside the repository)'
    ])
    // The runner's home has the file or not; either way it is not shipped.
    expect(errors.slice(4)).toEqual([
      expect.stringMatching(
        /^compose\.yaml:11:9 services\.web\.volumes\[4\]: bind mount of ~\/\.ssh\/id_rsa: (file not found|only files of the repository can be shipped \(it resolves outside the repository\))/
      ),
      'compose.yaml:12:9 services.web.volumes[5]: bind mount of .: only files of the repository can be shipped (a directory is not); use a named volume, or put the file in the image',
      'compose.yaml:13:9 services.web.volumes[6]: "./data/file.txt" has no target: write SOURCE:TARGET'
    ])
  })
})

describe('configs', () => {
  test('short and long syntax ship a file, inline content or a variable, at their targets and modes', async () => {
    const result = await w.load({
      files: {
        'compose.yaml': lines(
          ...web(
            '    configs:',
            '      - site',
            '      - source: banner',
            '        target: etc/banner.txt',
            '        mode: 0440',
            '      - source: greeting',
            '        target: /greeting',
            '        mode: "0400"',
            '    volumes: [./z.txt:/z.txt]'
          ),
          'configs:',
          '  site:',
          '    file: ./conf/site.conf',
          '  banner:',
          '    content: |',
          '      Welcome to ${PROJECT}',
          '  greeting:',
          '    environment: GREETING'
        ),
        'conf/site.conf': 'listen 80;\n',
        'z.txt': 'zzz'
      },
      env: { PROJECT: 'shop', GREETING: 'hello' }
    })
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
    const files = result.model.services[0]!.files!
    expect(files.map(({ content: _, location: __, ...f }) => f)).toEqual([
      { target: '/etc/banner.txt', mode: '0440', source: 'config banner' },
      { target: '/greeting', mode: '0400', source: 'config greeting' },
      { target: '/site', mode: '0444', source: 'config site' },
      { target: '/z.txt', mode: '0444', source: 'z.txt' }
    ])
    expect(files.map(unpack)).toEqual(['Welcome to shop\n', 'hello', 'listen 80;\n', 'zzz'])
    expect(result.model.volumes).toBeUndefined()
  })

  test.each([
    [
      'an undeclared config',
      ['    configs: [nope]'],
      [],
      ['compose.yaml:4:15 services.web.configs[0]: config "nope" is not declared in the top-level "configs"']
    ],
    [
      'an external config',
      ['    configs: [ext]'],
      ['  ext:', '    external: true'],
      [
        'compose.yaml:7:5 configs.ext.external: not supported: external configs are not supported: use "file", "content" or "environment"'
      ]
    ],
    [
      'a config without a source',
      ['    configs: [empty]'],
      ['  empty:', '    name: x'],
      [
        'compose.yaml:6:3 configs.empty: has no source; the supported sources are "file" (a file of the repository, relative to the first compose file), "content" (the text itself) and "environment" (the name of a variable of the step or of .env)'
      ]
    ],
    [
      'a config with two sources',
      ['    configs: [two]'],
      ['  two:', '    content: a', '    environment: A'],
      ['compose.yaml:8:5 configs.two.environment: a config has one source, and "content" is set too']
    ],
    [
      'a config file that is a directory',
      ['    configs: [dir]'],
      ['  dir:', '    file: ./conf'],
      [
        'compose.yaml:7:11 configs.dir.file: config file ./conf: only files of the repository can be shipped (a directory is not)'
      ]
    ],
    [
      'a config file outside the repository',
      ['    configs: [out]'],
      ['  out:', '    file: /etc/hostname'],
      ['compose.yaml:7:11 configs.out.file: config file /etc/hostname: ' + 'OUTSIDE']
    ],
    [
      'a config variable that is not set',
      ['    configs: [var]'],
      ['  var:', '    environment: UNSET_VARIABLE'],
      [
        "compose.yaml:7:18 configs.var.environment: variable UNSET_VARIABLE is not set in the step's environment or in .env"
      ]
    ],
    [
      'inline content above 16 KiB',
      ['    configs: [big]'],
      ['  big:', `    content: ${'x'.repeat(16385)}`],
      ['compose.yaml:7:14 configs.big.content: is 16385 bytes, more than the 16384 bytes (16 KiB) a config may have']
    ],
    [
      'a config on the target of a volume',
      ['    volumes: [data:/etc/app.conf]', '    configs: [{source: app, target: /etc/app.conf}]'],
      ['  app:', '    content: a', 'volumes:', '  data:'],
      ['compose.yaml:5:15 services.web.configs[0]: target "/etc/app.conf" is already used by services.web.volumes[0]']
    ],
    [
      'a config on the target of a bind mount',
      ['    volumes: [./conf/a.conf:/a]', '    configs: [a]'],
      ['  a:', '    content: a'],
      ['compose.yaml:5:15 services.web.configs[0]: target "/a" is already used by services.web.volumes[0]']
    ],
    [
      'a config on the target of a secret',
      ['    secrets: [token]', '    configs: [{source: a, target: /run/secrets/token}]'],
      ['  a:', '    content: a', 'secrets:', '  token:', '    environment: TOKEN'],
      [
        'compose.yaml:5:15 services.web.configs[0]: target "/run/secrets/token" is already used by services.web.secrets[0]'
      ]
    ],
    [
      'two configs on one target',
      ['    configs: [a, {source: b, target: /a}]'],
      ['  a:', '    content: a', '  b:', '    content: b'],
      ['compose.yaml:4:18 services.web.configs[1]: target "/a" is already used by services.web.configs[0]']
    ],
    [
      'a decimal mode',
      ['    configs: [{source: a, mode: 440}]'],
      ['  a:', '    content: a'],
      [
        'compose.yaml:4:33 services.web.configs[0].mode: must be an octal file mode from 0000 to 0777, such as 0440 or "0440", got number 440 (Compose reads a number without a leading 0 as decimal: write 0440)'
      ]
    ]
  ])('%s is an error naming its line and key', async (_name, service, decl, expected) => {
    const files = {
      'compose.yaml': lines(...web(...service), 'configs:', ...decl),
      'conf/a.conf': 'a'
    }
    const errors = await w.errors({ files, env: { TOKEN: 't', A: 'a' } })
    if (expected[0]!.endsWith('OUTSIDE'))
      expect(errors).toEqual([
        expect.stringMatching(
          /^compose\.yaml:7:11 configs\.out\.file: config file \/etc\/hostname: (file not found|only files of the repository can be shipped \(it resolves outside the repository\))/
        )
      ])
    else expect(errors).toEqual(expected)
  })

  test('uid and gid are warnings: the file is owned by root', async () => {
    const warnings = await w.warnings({
      files: {
        'compose.yaml': lines(...web('    configs: [{source: a, uid: "1000"}]'), 'configs:', '  a:', '    content: a')
      }
    })
    expect(warnings).toEqual([
      'compose.yaml:4:27 services.web.configs[0].uid: ignored: the file is owned by root and readable as its mode says'
    ])
  })
})

describe('merging several files', () => {
  test('volumes and configs merge by target, a later item replacing an earlier one', async () => {
    const result = await w.load({
      files: {
        'compose.yaml': lines(
          ...web('    volumes: [data:/data, ./a.txt:/etc/a]', '    configs: [{source: one, target: /etc/c}]'),
          'volumes:',
          '  data:',
          '    driver_opts: {size: 20}',
          '  more:',
          'configs:',
          '  one: {content: "1"}',
          '  two: {content: "2"}'
        ),
        'override.yaml': lines(
          'services:',
          '  web:',
          '    volumes: ["more:/data:ro", ./b.txt:/etc/b]',
          '    configs: [{source: two, target: /etc/c}]',
          'volumes:',
          '  data:',
          '    x-hyperform: {size: 40}'
        ),
        'a.txt': 'a',
        'b.txt': 'b'
      },
      compose: ['compose.yaml', 'override.yaml']
    })
    if (!result.ok) throw new Error(result.errors.map(formatDiagnostic).join('\n'))
    const web0 = result.model.services[0]!
    expect(web0.volumes).toEqual([{ name: 'more', target: '/data', readOnly: true }])
    expect(web0.files!.map((f) => [f.target, f.source, unpack(f)])).toEqual([
      ['/etc/a', 'a.txt', 'a'],
      ['/etc/b', 'b.txt', 'b'],
      ['/etc/c', 'config two', '2']
    ])
    expect(result.model.volumes!.map((v) => v.name)).toEqual(['more'])
    expect(result.warnings.map(formatDiagnostic)).toEqual([
      'compose.yaml:7:3 volumes.data: not mounted by any service: nothing is created'
    ])
  })
})

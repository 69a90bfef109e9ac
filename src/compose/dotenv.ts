/**
 * The `.env` / `env_file` format as Compose reads it: `KEY=VAL` lines,
 * `#` comments, an optional `export ` prefix, single quotes (literal, `\'`
 * escapes a quote), double quotes (escapes `\n \r \t \\ \" \$`, may span
 * lines), inline comments after unquoted values when preceded by a space,
 * and `KEY` alone (take the value from the environment). Pure.
 */
import { envNameProblem } from './environment.js'

export interface DotenvEntry {
  key: string
  /** Undefined for `KEY` alone. */
  value?: string
  /** Single-quoted: never interpolated. */
  literal: boolean
  line: number
  column: number
}

export interface DotenvProblem {
  line: number
  column: number
  message: string
}

export interface DotenvResult {
  entries: DotenvEntry[]
  problems: DotenvProblem[]
}

export interface DotenvOptions {
  /**
   * Values will be interpolated (the `.env` file): `\$` in double quotes
   * becomes `$$` so that it stays a literal dollar.
   */
  template: boolean
}

export function parseDotenv(text: string, options: DotenvOptions): DotenvResult {
  const scanner = new Scanner(text.replace(/\r\n?/g, '\n'), options)
  while (scanner.nextLine());
  return { entries: scanner.entries, problems: scanner.problems }
}

class Scanner {
  pos = 0
  line = 1
  lineStart = 0
  readonly entries: DotenvEntry[] = []
  readonly problems: DotenvProblem[] = []

  constructor(
    private readonly text: string,
    private readonly options: DotenvOptions
  ) {}

  get column(): number {
    return this.pos - this.lineStart + 1
  }

  private peek(): string | undefined {
    return this.text[this.pos]
  }

  private advance(): string {
    const ch = this.text[this.pos++] ?? ''
    if (ch === '\n') {
      this.line++
      this.lineStart = this.pos
    }
    return ch
  }

  private skipBlanks(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.advance()
  }

  private skipLine(): void {
    while (this.pos < this.text.length && this.peek() !== '\n') this.advance()
    if (this.peek() === '\n') this.advance()
  }

  private problem(message: string, column = this.column): void {
    this.problems.push({ line: this.line, column, message })
    this.skipLine()
  }

  /** Reads one logical line; false at the end of the text. */
  nextLine(): boolean {
    this.skipBlanks()
    if (this.pos >= this.text.length) return false
    const ch = this.peek()
    if (ch === '\n' || ch === '#') this.skipLine()
    else this.assignment()
    return true
  }

  private assignment(): void {
    if (this.text.startsWith('export ', this.pos) || this.text.startsWith('export\t', this.pos)) {
      this.pos += 7
      this.skipBlanks()
    }
    const start = { line: this.line, column: this.column }
    const key = this.readKey()
    const problem = envNameProblem(key)
    if (problem) return this.problem(problem, start.column)
    this.skipBlanks()
    const ch = this.peek()
    if (ch === undefined || ch === '\n' || ch === '#') {
      this.entries.push({ key, literal: false, ...start })
      return this.skipLine()
    }
    if (ch !== '=') return this.problem(`expected "=" after ${JSON.stringify(key)}`)
    this.advance()
    this.skipBlanks()
    this.value(key, start.line)
  }

  private readKey(): string {
    const begin = this.pos
    while (this.pos < this.text.length && !/[=\s#]/.test(this.peek()!)) this.pos++
    return this.text.slice(begin, this.pos)
  }

  private value(key: string, line: number): void {
    const column = this.column
    const quote = this.peek()
    if (quote === "'" || quote === '"') return this.quoted({ key, line, column, quote })
    const end = this.text.indexOf('\n', this.pos)
    const rest = this.text.slice(this.pos, end < 0 ? undefined : end)
    const comment = rest.search(/[ \t]#/)
    const value = (comment >= 0 ? rest.slice(0, comment) : rest).trimEnd()
    this.entries.push({ key, value, literal: false, line, column })
    this.skipLine()
  }

  private quoted(at: { key: string; line: number; column: number; quote: string }): void {
    const openLine = this.line
    const openColumn = this.column
    this.advance()
    const value = this.readQuoted(at.quote)
    if (value === undefined) {
      this.problems.push({
        line: openLine,
        column: openColumn,
        message: `the value of ${JSON.stringify(at.key)} has no closing ${at.quote}`
      })
      return
    }
    this.skipBlanks()
    const next = this.peek()
    if (next !== undefined && next !== '\n' && next !== '#')
      return this.problem('unexpected text after the closing quote')
    this.entries.push({ key: at.key, value, literal: at.quote === "'", line: at.line, column: at.column })
    this.skipLine()
  }

  /** The text up to the closing quote, escapes applied; undefined if it never closes. */
  private readQuoted(quote: string): string | undefined {
    let out = ''
    while (this.pos < this.text.length) {
      const ch = this.advance()
      if (ch === quote) return out
      if (ch === '\\' && this.pos < this.text.length) out += this.escape(quote, this.advance())
      else out += ch
    }
    return undefined
  }

  private escape(quote: string, ch: string): string {
    if (ch === quote) return ch
    if (quote === "'") return `\\${ch}`
    return DOUBLE_ESCAPES[ch] ?? (ch === '$' ? (this.options.template ? '$$' : '$') : `\\${ch}`)
  }
}

const DOUBLE_ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\' }

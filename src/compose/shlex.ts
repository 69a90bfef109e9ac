/**
 * Splits a `command` / `entrypoint` string into exec-form words the way a
 * POSIX shell tokenises them (as Compose does with shlex), without running a
 * shell: no variables, globs, pipes or comments. Pure.
 */

export type SplitResult = { words: string[] } | { error: string }

const DOUBLE_QUOTE_ESCAPABLE = new Set(['\\', '"', '$', '`'])

export function shellSplit(text: string): SplitResult {
  const words: string[] = []
  let word: string | undefined
  let i = 0
  while (i < text.length) {
    const ch = text[i]!
    if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word)
      word = undefined
      i++
      continue
    }
    const step = readToken(text, i)
    if ('error' in step) return step
    word = (word ?? '') + step.text
    i = step.next
  }
  if (word !== undefined) words.push(word)
  return { words }
}

type Token = { text: string; next: number } | { error: string }

function readToken(text: string, i: number): Token {
  const ch = text[i]!
  if (ch === "'") return singleQuoted(text, i)
  if (ch === '"') return doubleQuoted(text, i)
  if (ch !== '\\') return { text: ch, next: i + 1 }
  const escaped = text[i + 1]
  if (escaped === undefined) return { error: `${JSON.stringify(text)} ends with a backslash that escapes nothing` }
  return { text: escaped === '\n' ? '' : escaped, next: i + 2 }
}

function singleQuoted(text: string, i: number): Token {
  const end = text.indexOf("'", i + 1)
  if (end < 0) return { error: `${JSON.stringify(text)} has an unterminated single quote` }
  return { text: text.slice(i + 1, end), next: end + 1 }
}

function doubleQuoted(text: string, i: number): Token {
  let out = ''
  let j = i + 1
  while (j < text.length) {
    const ch = text[j]!
    if (ch === '"') return { text: out, next: j + 1 }
    const escaped = text[j + 1]
    if (ch === '\\' && escaped !== undefined && (DOUBLE_QUOTE_ESCAPABLE.has(escaped) || escaped === '\n')) {
      out += escaped === '\n' ? '' : escaped
      j += 2
    } else {
      out += ch
      j++
    }
  }
  return { error: `${JSON.stringify(text)} has an unterminated double quote` }
}

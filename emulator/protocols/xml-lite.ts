/** A small XML writer and reader for the REST-XML services (Route 53): enough for what the AWS SDK sends and expects. */

export interface XmlElement {
  name: string
  children: XmlElement[]
  /** Concatenated text content directly inside this element, entity-decoded. */
  text: string
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c)
}

/** An element whose children are already-serialised XML strings; undefined children are skipped. */
export function el(name: string, ...children: (string | undefined)[]): string {
  return `<${name}>${children.filter((c) => c !== undefined).join('')}</${name}>`
}

/** A leaf element with an escaped text value, or '' when the value is undefined. */
export function leaf(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`
}

/** A wrapped list: <Outer><Member>..</Member>...</Outer>. */
export function list<T>(outer: string, items: T[], render: (item: T) => string): string {
  return `<${outer}>${items.map(render).join('')}</${outer}>`
}

export function xmlDocument(root: string, namespace: string, ...children: (string | undefined)[]): string {
  const body = children.filter((c) => c !== undefined).join('')
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${namespace}">${body}</${root}>`
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_m, ent: string) => {
    if (ent.startsWith('#x')) return String.fromCodePoint(parseInt(ent.slice(2), 16))
    if (ent.startsWith('#')) return String.fromCodePoint(parseInt(ent.slice(1), 10))
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[ent] ?? ''
  })
}

const TOKEN =
  /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<\/([^\s>]+)\s*>|<([^\s/>]+)[^>]*?(\/?)>|([^<]+)/g

/** Parse an XML document into its root element (attributes and namespaces are ignored). */
export function parseXml(text: string): XmlElement {
  const root: XmlElement = { name: '#document', children: [], text: '' }
  const stack: XmlElement[] = [root]
  for (const match of text.matchAll(TOKEN)) {
    const top = stack[stack.length - 1] ?? root
    const [, cdata, closing, opening, selfClosing, chars] = match
    if (cdata !== undefined) top.text += cdata
    else if (closing !== undefined) {
      if (stack.length > 1) stack.pop()
    } else if (opening !== undefined) {
      const node: XmlElement = { name: localName(opening), children: [], text: '' }
      top.children.push(node)
      if (selfClosing !== '/') stack.push(node)
    } else if (chars !== undefined) top.text += decodeEntities(chars)
  }
  const first = root.children[0]
  if (!first) throw new Error('empty XML document')
  return first
}

function localName(name: string): string {
  const colon = name.indexOf(':')
  return colon >= 0 ? name.slice(colon + 1) : name
}

export function child(node: XmlElement | undefined, name: string): XmlElement | undefined {
  return node?.children.find((c) => c.name === name)
}

export function childrenNamed(node: XmlElement | undefined, name: string): XmlElement[] {
  return node?.children.filter((c) => c.name === name) ?? []
}

/** Trimmed text of a child element, or undefined when it is absent. */
export function childText(node: XmlElement | undefined, name: string): string | undefined {
  const c = child(node, name)
  return c === undefined ? undefined : c.text.trim()
}

// Where the keyword search matched in a text: the server's text filter (literal, word or RE2 regex) as a JavaScript
// RegExp, so the table can mark the matches. RE2 and JavaScript agree on the patterns people type; a pattern only
// RE2 takes marks nothing (the rows are still the server's).

const WORD_CHAR = '[\\p{L}\\p{N}_]'
const escape = (s) => s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')

/** A global RegExp for the filter's text and mode, or null (no keyword, or a pattern JavaScript cannot read). */
export function keywordMatcher(text, mode) {
  if (!text) return null
  if (mode === 'word') {
    const phrase = text.trim().split(/\s+/).map(escape).join('\\s+')
    return compile(`(?<!${WORD_CHAR})${phrase}(?!${WORD_CHAR})`, 'giu')
  }
  if (mode !== 'regex') return compile(escape(text), 'gi')
  // RE2's leading flag groups, (?i) and the like, are flags of the RegExp; \pL is \p{L} there.
  let flags = 'g'
  let source = text.replace(/^\(\?([ims]+)\)/, (_, f) => {
    flags += f
    return ''
  })
  source = source.replace(/\\([pP])([A-Za-z])/g, '\\$1{$2}')
  return compile(source, flags + 'u') || compile(source, flags)
}

function compile(source, flags) {
  try {
    const re = new RegExp(source, flags)
    return re.test('') ? null : re // a pattern that matches nothing would mark every gap
  } catch {
    return null
  }
}

/** The text cut into [part, matched] pairs, in order. */
export function splitMatches(text, matcher) {
  if (!matcher) return [[text, false]]
  const out = []
  let at = 0
  for (const m of text.matchAll(matcher)) {
    if (!m[0]) continue
    if (m.index > at) out.push([text.slice(at, m.index), false])
    out.push([m[0], true])
    at = m.index + m[0].length
  }
  if (at < text.length) out.push([text.slice(at), false])
  return out
}

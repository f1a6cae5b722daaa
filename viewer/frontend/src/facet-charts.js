// One facet as a small chart (the answer of the facets route, docs/viewer-api.md): category counts as rows of bars,
// booleans as two, numbers and dates as a histogram with a brush. With the scope's counts (baseline), each bar is the
// value's share of the filtered rows over a grey mark of its share of the whole scope, so what is over-represented
// stands out. Clicks and brushes call back; the page turns them into filters.
import { h, fmt } from './dom.js'

const SVG = 'http://www.w3.org/2000/svg'
const HIST_HEIGHT = 54

/** `on`: value(v), nulls(), range([start, end] | null); `picked`: {values, nulls, range}; `label(v)`: a value's
 * name and its swatch (or null). */
export function renderFacet(facet, { picked, label, on, width = 250, histHeight = HIST_HEIGHT }) {
  const body =
    facet.type === 'number' || facet.type === 'date'
      ? histogram(facet, picked.range, on.range, width, histHeight)
      : categories(facet, picked, label, on)
  const filtered = picked.values.length || picked.nulls || picked.range
  return h(
    'section.facet',
    { dataset: { testid: 'facet', column: facet.column, type: facet.type } },
    h(
      'h4',
      {},
      h('span.name', {}, facet.column === 'ls_tags' ? 'tags' : facet.column),
      facet.interval ? h('span.muted', {}, ` by ${facet.interval}`) : null,
      filtered
        ? h('button.mini.clear', { title: `Clear the filter on ${facet.column}`, on: { click: on.clear } }, 'clear')
        : null,
    ),
    body,
  )
}

/** Shares of the filtered rows and of the scope, scaled to the larger of the two maxima. */
function scales(facet) {
  const total = facet.total || 1
  const scopeTotal = facet.scope?.total || 1
  const share = (b) => (facet.scope ? b.count / total : b.count)
  const scopeShare = (b) => (facet.scope ? b.scope_count / scopeTotal : 0)
  const top = Math.max(1e-12, ...facet.buckets.map(share), ...facet.buckets.map(scopeShare))
  return { share: (b) => share(b) / top, scopeShare: (b) => scopeShare(b) / top }
}

function categories(facet, picked, label, on) {
  const { share, scopeShare } = scales(facet)
  const row = (text, count, fraction, scopeFraction, attrs, swatch) =>
    h(
      'button.facet-row',
      attrs,
      swatch,
      h('span.value', { title: text }, text),
      h(
        'span.bar',
        {},
        scopeFraction !== null ? h('span.scope', { style: { width: `${(100 * scopeFraction).toFixed(1)}%` } }) : null,
        h('span.fill', { style: { width: `${(100 * fraction).toFixed(1)}%` } }),
      ),
      h('span.count', {}, fmt(count)),
    )
  const rows = facet.buckets.map((b) => {
    const { text, swatch } = label(b.value)
    const on_ = picked.values.some((v) => v === b.value)
    const lift = b.lift !== undefined && b.lift !== null ? ` · ${b.lift.toFixed(2)}× the scope's share` : ''
    return row(
      text,
      b.count,
      share(b),
      facet.scope ? scopeShare(b) : null,
      {
        'aria-pressed': String(on_),
        title: `${text}: ${fmt(b.count)} rows${facet.scope ? ` (scope: ${fmt(b.scope_count)})` : ''}${lift}`,
        dataset: { value: JSON.stringify(b.value) },
        on: { click: () => on.value(b.value) },
      },
      swatch,
    )
  })
  if (facet.nulls) {
    const none = facet.column === 'ls_tags' ? 'in no tag' : '∅ no value'
    const nullAttrs = {
      'aria-pressed': String(picked.nulls),
      dataset: { value: 'null' },
      disabled: facet.column === 'ls_tags',
      on: { click: () => on.nulls() },
    }
    rows.push(row(none, facet.nulls, 0, null, nullAttrs))
  }
  if (facet.other > 0) rows.push(h('div.facet-other.muted', {}, `other: ${fmt(facet.other)}`))
  if (!rows.length) rows.push(h('p.muted', {}, 'no rows'))
  return h('div.facet-rows', {}, rows)
}

/** Bars over the column's bins; drag across them (or click one) to keep that range, click the range again to clear. */
function histogram(facet, range, onRange, width, height) {
  const n = facet.buckets.length
  const box = h('div.histogram', {})
  if (!n) {
    box.append(h('p.muted', {}, facet.nulls ? `${fmt(facet.nulls)} rows, no value` : 'no rows'))
    return box
  }
  const { share, scopeShare } = scales(facet)
  const svg = document.createElementNS(SVG, 'svg')
  svg.setAttribute('width', String(width))
  svg.setAttribute('height', String(height))
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.dataset.testid = 'histogram'
  const step = width / n
  const inRange = (b) => range && (range[0] === null || b.start >= range[0]) && (range[1] === null || b.end <= range[1])
  const rects = facet.buckets.map((b, i) => {
    if (facet.scope) svg.append(rect(i * step, height, step, scopeShare(b) * height, 'scope'))
    const bar = rect(i * step, height, step, share(b) * height, range ? (inRange(b) ? 'in' : 'out') : 'in')
    bar.dataset.index = String(i)
    bar.append(title(`${label(facet, b.start)} – ${label(facet, b.end)}: ${fmt(b.count)} rows`))
    svg.append(bar)
    // A full-height target per bin, so thin bars are as easy to hit as tall ones.
    const hit = rect(i * step, height, step, height, 'hit')
    hit.dataset.index = String(i)
    hit.append(title(`${label(facet, b.start)} – ${label(facet, b.end)}: ${fmt(b.count)} rows`))
    svg.append(hit)
    return bar
  })
  brush(svg, facet, step, rects, range, onRange)
  box.append(
    svg,
    h(
      'div.axis.muted',
      {},
      h('span', {}, label(facet, facet.buckets[0].start)),
      facet.nulls ? h('span', {}, `∅ ${fmt(facet.nulls)}`) : null,
      h('span', {}, label(facet, facet.buckets[n - 1].end)),
    ),
  )
  return box
}

function brush(svg, facet, step, rects, range, onRange) {
  let from = null
  const index = (e) => {
    const r = svg.getBoundingClientRect()
    return Math.max(0, Math.min(rects.length - 1, Math.floor((e.clientX - r.left) / step)))
  }
  const paint = (a, b) => rects.forEach((bar, i) => bar.setAttribute('class', i >= a && i <= b ? 'in' : 'out'))
  svg.addEventListener('pointerdown', (e) => {
    from = index(e)
    svg.setPointerCapture(e.pointerId)
    paint(from, from)
  })
  svg.addEventListener('pointermove', (e) => {
    if (from === null) return
    const to = index(e)
    paint(Math.min(from, to), Math.max(from, to))
  })
  svg.addEventListener('pointerup', (e) => {
    if (from === null) return
    const to = index(e)
    const [a, b] = [Math.min(from, to), Math.max(from, to)]
    from = null
    const next = [facet.buckets[a].start, facet.buckets[b].end]
    const same = range && range[0] === next[0] && range[1] === next[1]
    onRange(same ? null : next)
  })
}

function rect(x, height, width, barHeight, cls) {
  const el = document.createElementNS(SVG, 'rect')
  const hgt = Math.max(0, barHeight)
  el.setAttribute('x', String(x + 0.5))
  el.setAttribute('y', String(height - hgt))
  el.setAttribute('width', String(Math.max(1, width - 1)))
  el.setAttribute('height', String(hgt))
  el.setAttribute('class', cls)
  return el
}

function title(text) {
  const el = document.createElementNS(SVG, 'title')
  el.textContent = text
  return el
}

/** A bin edge as a reader wants it: a number, or a date as precise as the interval needs. */
export function label(facet, value) {
  if (facet.type !== 'date') return typeof value === 'number' ? fmtNumber(value) : String(value)
  const iso = String(value)
  const interval = facet.interval || ''
  if (/year|decade|century/.test(interval)) return iso.slice(0, 4)
  if (/month|quarter/.test(interval)) return iso.slice(0, 7)
  if (/day|week/.test(interval)) return iso.slice(0, 10)
  if (/second/.test(interval)) return iso.slice(0, 19).replace('T', ' ')
  return iso.slice(0, 16).replace('T', ' ')
}

function fmtNumber(v) {
  return Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : String(+v.toPrecision(6))
}

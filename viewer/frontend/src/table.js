// The table of the current filter/selection, one server page at a time, with user-chosen columns.
import { h, clear, fmt } from './dom.js'
import { splitMatches } from './highlight.js'
import { clusterColor } from './theme.js'

export const PAGE_SIZE = 50

/** `matcher`: the keyword search's RegExp (highlight.js), marked in the text column; null marks nothing. */
export function renderTable(el, options) {
  const { page, columns, allColumns, theme, clustersById, pageIndex, sort, textColumn, matcher, on } = options
  clear(el)
  const total = page?.total ?? 0
  const first = total ? pageIndex * PAGE_SIZE + 1 : 0
  const last = Math.min(total, (pageIndex + 1) * PAGE_SIZE)
  const picker = h(
    'details.columns',
    {},
    h('summary', {}, 'Columns'),
    h(
      'div.menu',
      {},
      allColumns.map((c) =>
        h(
          'label',
          {},
          h('input', {
            type: 'checkbox',
            checked: columns.includes(c),
            dataset: { column: c },
            on: { change: (e) => on.columns(c, e.target.checked) },
          }),
          c,
        ),
      ),
    ),
  )
  el.append(
    h(
      'div.table-bar',
      {},
      h('span.total', { dataset: { testid: 'table-total' } }, `${fmt(first)}–${fmt(last)} of ${fmt(total)} rows`),
      h('button', { disabled: pageIndex === 0, on: { click: () => on.page(pageIndex - 1) } }, '‹ Prev'),
      h('button', { disabled: last >= total, on: { click: () => on.page(pageIndex + 1) } }, 'Next ›'),
      picker,
    ),
  )
  if (!page) {
    el.append(h('p.muted', {}, 'Loading…'))
    return
  }
  const hasScore = page.rows.some((r) => r.score !== undefined && r.score !== null)
  const head = ['ls_index', 'cluster', ...(hasScore ? ['score'] : []), ...columns]
  el.append(
    h(
      'div.table-scroll',
      {},
      h(
        'table',
        { dataset: { testid: 'rows' } },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            head.map((c) => {
              // Sort on the server: ascending, then descending, then back to the default order.
              const dir = sort === c ? 'ascending' : sort === `-${c}` ? 'descending' : 'none'
              const arrow = dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : ''
              return h(
                'th',
                { 'aria-sort': dir },
                h('button.sort', { 'aria-label': `Sort by ${c}`, on: { click: () => on.sort(c) } }, c + arrow),
              )
            }),
          ),
        ),
        h(
          'tbody',
          {},
          page.rows.map((r) =>
            h(
              'tr',
              {
                dataset: { lsIndex: String(r.ls_index), cluster: String(r.cluster) },
                on: { mouseenter: () => on.hover(r), mouseleave: () => on.hover(null), click: () => on.pick(r) },
              },
              head.map((c) =>
                c === textColumn
                  ? h('td.text', {}, h('span.clamp', { title: String(r[c] ?? '') }, marked(r[c], matcher)))
                  : h('td', {}, cell(c, r, theme, clustersById)),
              ),
            ),
          ),
        ),
      ),
    ),
  )
}

function marked(value, matcher) {
  if (value === null || value === undefined) return h('span.muted', {}, '∅')
  return splitMatches(String(value), matcher).map(([part, hit]) => (hit ? h('mark', {}, part) : part))
}

function cell(column, row, theme, clustersById) {
  if (column === 'cluster') {
    const info = clustersById.get(row.cluster) || { cluster: row.cluster, label: row.label }
    return h(
      'span.cluster-cell',
      {},
      h('span.swatch', { style: { background: clusterColor(theme, row.cluster, info.noise) } }),
      row.label ?? info.label,
    )
  }
  const v = row[column]
  if (column === 'score' && typeof v === 'number') return v.toFixed(3)
  if (v === null || v === undefined) return h('span.muted', {}, '∅')
  return typeof v === 'object' ? JSON.stringify(v) : String(v)
}

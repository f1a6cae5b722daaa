// "What changed": for a scope a refresh made, the topics that are new, grew, shrank or vanished since the scope
// before it (the scope JSON's `changes`, which GET .../changes also answers). A topic still on the map filters to it.
import { h } from '../dom.js'
import { clusterColor, currentTheme } from '../theme.js'

const ORDER = { new: 0, grown: 1, shrunk: 2, vanished: 3 }
const SIGN = { new: '+', grown: '▲', shrunk: '▼', vanished: '×' }

/** The panel's section, or null when the scope was not made by a refresh. */
export function buildChanges(view) {
  const report = view.data.scopeJson.changes
  if (!report) return null
  const changed = report.topics
    .filter((t) => t.status !== 'same')
    .sort((a, b) => ORDER[a.status] - ORDER[b.status] || b.after - a.after)
  const same = report.topics.length - changed.length
  const rows = changed.map((t) =>
    h(
      'li.change',
      { dataset: { testid: 'change', status: t.status } },
      t.status === 'vanished'
        ? h('span.swatch', { style: { background: currentTheme().noise }, 'aria-hidden': 'true' })
        : h('span.swatch', { style: { background: clusterColor(currentTheme(), t.cluster) }, 'aria-hidden': 'true' }),
      t.status === 'vanished'
        ? h('span', {}, `${SIGN[t.status]} ${t.label}`)
        : h('button.link', { on: { click: () => view.toggleCluster(t.cluster) } }, `${SIGN[t.status]} ${t.label}`),
      h('span.muted', {}, ` ${t.status} ${t.before} → ${t.after}`),
    ),
  )
  return h(
    'section',
    { dataset: { testid: 'changes' } },
    h('h3', {}, `What changed since ${report.from}`),
    h('p.muted', {}, `+${report.rows_added} rows, −${report.rows_removed} rows; ${same} topics the same`),
    h('ul.changes', {}, ...rows),
  )
}
